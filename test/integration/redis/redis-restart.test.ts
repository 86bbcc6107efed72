/**
 * Redis killed (SIGKILL) and restarted mid-traffic under two lockstep nodes: new connections
 * are refused with 1013 while it is down, live connections stay open and catch up when it
 * returns, and no appended event is lost (Redis runs with appendfsync always).
 */
import { afterAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TestClient } from '../client.js';
import { eventsOf, RUN_EVENTS } from '../harness.js';
import { checkStreamHistory } from '../../../src/testing/index.js';
import type { ReadyFrame } from '../../../src/protocol/frames.js';
import { describeWithRedis, LockstepNode, RedisProcess } from './redis-harness.js';

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

describeWithRedis('Redis restarted mid-traffic', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('refuses new connections with 1013 while down, keeps live ones, and loses no appended event', async () => {
    const redis = await RedisProcess.start();
    cleanup.push(() => redis.stop());
    const [a, b] = await Promise.all([LockstepNode.start(redis.url), LockstepNode.start(redis.url)]);
    cleanup.push(() => a.kill(), () => b.kill());

    const onA = connect(a.url, 'dee');
    const onB = connect(b.url, 'dee');
    await Promise.all([onA.untilType('ready'), onB.untilType('ready')]);
    const { epoch } = onA.frames[0] as ReadyFrame;
    const send = (from: number, to: number) => {
      for (let i = from; i < to; i++) onA.send({ type: 'message', id: `m${i}`, text: `message ${i}` });
    };

    send(0, 5);
    await onB.until(() => eventsOf(onB.frames).length >= 5 * RUN_EVENTS.length, 'the first runs on B');
    send(5, 10); // in flight when Redis dies
    await redis.kill();
    await Promise.all([a.untilLogged(/redis unreachable/), b.untilLogged(/redis unreachable/)]);
    send(10, 15); // sent while Redis is down: queued on node A, in order

    const late = connect(b.url, 'dee');
    expect((await late.closed).code).toBe(1013);

    await redis.restart();
    const total = 15 * RUN_EVENTS.length;
    await Promise.all([onA, onB].map((c) => c.until(() => eventsOf(c.frames).length >= total, `${total} events`)));

    // Live connections kept their state: one ready frame each, still open, gap-free streams.
    for (const c of [onA, onB]) {
      expect(c.frames.filter((f) => f.type === 'ready')).toHaveLength(1);
      expect(c.ws.readyState).toBe(c.ws.OPEN);
      expect(checkStreamHistory(eventsOf(c.frames), 0, total)).toEqual([]);
    }
    expect(eventsOf(onB.frames)).toEqual(eventsOf(onA.frames));
    const acks = onA.frames.filter((f) => f.type === 'ack');
    expect(acks).toHaveLength(15);
    expect(acks.some((f) => 'duplicate' in f && f.duplicate)).toBe(false);

    // Everything appended survived the restart: a resume from 0 replays exactly what was seen.
    const fresh = connect(`${b.url}?epoch=${epoch}&lastSeq=0`, 'dee');
    await fresh.until(() => eventsOf(fresh.frames).length >= total, 'replay of every event');
    expect(fresh.frames[0]).toMatchObject({ type: 'ready', epoch, resumed: true, lastSeq: total });
    expect(eventsOf(fresh.frames)).toEqual(eventsOf(onA.frames));
    await Promise.all([onA.close(), onB.close(), fresh.close()]);
  });

  it('a dropped pub/sub connection loses notifications, never events: the node re-reads the stream on reconnect', async () => {
    const redis = await RedisProcess.start();
    cleanup.push(() => redis.stop());
    // Node B takes its URL from LOCKSTEP_REDIS_URL.
    const [a, b] = await Promise.all([LockstepNode.start(redis.url), LockstepNode.start(redis.url, [], { viaEnv: true })]);
    cleanup.push(() => a.kill(), () => b.kill());
    const admin = new Redis(redis.url);
    cleanup.push(() => admin.quit());

    const onA = connect(a.url, 'eve');
    const onB = connect(b.url, 'eve');
    await Promise.all([onA.untilType('ready'), onB.untilType('ready')]);
    // Every subscriber connection is cut; commands keep working. The run below is appended
    // while B is not subscribed, and it is the last traffic: no later notification reveals
    // the gap, only B's re-read after it resubscribed.
    expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(2);
    onA.send({ type: 'message', id: 'm1', text: 'while B is deaf' });
    await Promise.all([onA, onB].map((c) => c.until(() => eventsOf(c.frames).length >= RUN_EVENTS.length, 'the whole run')));
    expect(eventsOf(onB.frames)).toEqual(eventsOf(onA.frames));
    expect(checkStreamHistory(eventsOf(onB.frames), 0, RUN_EVENTS.length)).toEqual([]);
    await Promise.all([onA.close(), onB.close()]);
  });
});
