/**
 * Several `lockstep serve --redis` processes against one real redis-server: tabs on two
 * nodes, a resume on another node after a graceful stop mid-run, and a node killed mid-run
 * whose run is ended by another node once its lease expired.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestClient } from '../client.js';
import { eventsOf, RUN_EVENTS } from '../harness.js';
import { checkStreamHistory } from '../../../src/testing/index.js';
import type { EventFrame, ReadyFrame } from '../../../src/protocol/frames.js';
import { describeWithRedis, LockstepNode, RedisProcess } from './redis-harness.js';

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
const hasEvent = (client: TestClient, name: string) => () => eventsOf(client.frames).some((e) => e.event === name);

/** Each run's event names, by run id: the run grammar per run (I6) across nodes. */
function runsOf(events: EventFrame[]): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  for (const e of events) runs.set(e.runId, [...(runs.get(e.runId) ?? []), e.event]);
  return runs;
}

describeWithRedis('scale-out on Redis: lockstep serve processes sharing one redis-server', () => {
  let redis: RedisProcess;
  const nodes: LockstepNode[] = [];
  const node = async (args: string[] = []) => {
    const started = await LockstepNode.start(redis.url, args);
    nodes.push(started);
    return started;
  };

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.stop();
  });

  it('a user with tabs on two nodes sees every event on both, in the same gap-free order', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const onA = connect(a.url, 'ann');
    const onB = connect(b.url, 'ann');
    await Promise.all([onA.untilType('ready'), onB.untilType('ready')]);
    expect((onA.frames[0] as ReadyFrame).epoch).toBe((onB.frames[0] as ReadyFrame).epoch);

    for (let i = 0; i < 5; i++) {
      onA.send({ type: 'message', id: `a${i}`, text: `from A ${i}` });
      onB.send({ type: 'message', id: `b${i}`, text: `from B ${i}` });
    }
    const total = 10 * RUN_EVENTS.length;
    await Promise.all([onA, onB].map((c) => c.until(() => eventsOf(c.frames).length >= total, `${total} events`)));

    expect(checkStreamHistory(eventsOf(onA.frames), 0, total)).toEqual([]);
    expect(checkStreamHistory(eventsOf(onB.frames), 0, total)).toEqual([]);
    expect(eventsOf(onB.frames)).toEqual(eventsOf(onA.frames));
    const runs = runsOf(eventsOf(onA.frames));
    expect(runs.size).toBe(10);
    for (const names of runs.values()) expect(names).toEqual(RUN_EVENTS);
    await Promise.all([onA.close(), onB.close()]);
  });

  it('a client resumes on node B after node A is stopped gracefully mid-run, and gets every event', async () => {
    // A closes sockets 100 ms into the drain, long before its 4 × 400 ms run ends; the run
    // then finishes on A and its events reach the client on B through Redis. The run outlives
    // the 900 ms lease after the close: A keeps renewing it, so B must not end it as node_lost.
    const lease = ['--run-lease-ms', '900'];
    const [a, b] = await Promise.all([node(['--demo-step-ms', '400', '--drain-ms', '100', ...lease]), node(lease)]);
    const c = connect(a.url, 'bo');
    await c.untilType('ready');
    const { epoch } = c.frames[0] as ReadyFrame;
    c.send({ type: 'message', id: 'm1', text: 'long run' });
    await c.until(hasEvent(c, 'agent_started'), 'agent_started');

    const stopped = a.stop();
    expect((await c.closed).code).toBe(1001);
    const seenOnA = eventsOf(c.frames);
    expect(seenOnA.map((e) => e.event)).not.toContain('agent_completed');

    const lastSeq = seenOnA.at(-1)?.seq ?? 0;
    const r = connect(`${b.url}?epoch=${epoch}&lastSeq=${lastSeq}`, 'bo');
    await r.until(() => hasEvent(r, 'agent_completed')() || hasEvent(r, 'agent_error')(), 'the run to end');
    expect(r.frames[0]).toMatchObject({ type: 'ready', epoch, resumed: true });
    const all = [...seenOnA, ...eventsOf(r.frames)];
    expect(checkStreamHistory(all, 0, RUN_EVENTS.length)).toEqual([]);
    expect(all.map((e) => e.event)).toEqual(RUN_EVENTS);
    expect(await stopped).toBe(0);
    await r.close();
  });

  it('after kill -9 of node A mid-run, node B ends the run with agent_error node_lost within the lease time', async () => {
    const leaseMs = 1500;
    const [a, b] = await Promise.all([
      node(['--demo-step-ms', '60000', '--run-lease-ms', String(leaseMs)]),
      node(['--run-lease-ms', String(leaseMs)]),
    ]);
    const onA = connect(a.url, 'cy');
    const onB = connect(b.url, 'cy');
    await Promise.all([onA.untilType('ready'), onB.untilType('ready')]);
    const { epoch } = onA.frames[0] as ReadyFrame;
    onA.send({ type: 'message', id: 'm1', text: 'never finishes' });
    await onB.until(hasEvent(onB, 'agent_started'), 'agent_started on B');

    const killedAt = performance.now();
    await a.kill();
    await onB.until(hasEvent(onB, 'agent_error'), 'agent_error on B');
    const elapsedMs = performance.now() - killedAt;

    const events = eventsOf(onB.frames);
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_error']);
    expect(events[1]).toMatchObject({ runId: events[0]?.runId, data: { reason: 'node_lost' } });
    // The lease ends at most leaseMs after A's last renewal (before the kill); B sweeps every
    // leaseMs / 3. The margin covers process scheduling on a loaded machine.
    console.info(`node_lost reached node B's client ${Math.round(elapsedMs)} ms after kill -9 (lease ${leaseMs} ms)`);
    expect(elapsedMs).toBeLessThan(leaseMs + leaseMs / 3 + 1500);

    // The tab that was on A resumes on B and gets the run's end too.
    const resumed = connect(`${b.url}?epoch=${epoch}&lastSeq=1`, 'cy');
    await resumed.until(hasEvent(resumed, 'agent_error'), 'agent_error on resume');
    expect(resumed.frames[0]).toMatchObject({ resumed: true, lastSeq: 2 });
    await Promise.all([onB.close(), resumed.close()]);
  });
});
