/**
 * Redis partitions, on a real redis-server and a real `lockstep serve --redis`:
 * - frozen (SIGSTOP: the socket stays connected, nothing answers): new handshakes close 1013
 *   within the availability bound instead of sitting in `joining`, and the node recovers after
 *   SIGCONT (the live tab's message sent during the freeze runs, a bystander loses nothing);
 * - restarted empty: see test/integration/redis/redis-empty-restart.test.ts (1001, reason epoch)
 *   and test/attack/redis-empty-restart.test.ts (the same with a bystander that loses nothing).
 */
import { afterAll, expect, it } from 'vitest';
import { TestClient } from '../integration/client.js';
import { eventsOf, RUN_EVENTS } from '../integration/harness.js';
import { describeWithRedis, LockstepNode, RedisProcess } from '../integration/redis/redis-harness.js';
import { bystanderRoundTrips, within } from './attack-harness.js';

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

describeWithRedis('Redis frozen (SIGSTOP) as in a network partition', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('refuses new handshakes with 1013 within a bound while frozen, and recovers after SIGCONT', async () => {
    const redis = await RedisProcess.start();
    cleanup.push(() => redis.stop());
    const node = await LockstepNode.start(redis.url);
    cleanup.push(() => node.kill());

    const tab = connect(node.url, 'frozen-tab');
    await within(tab.untilType('ready'), 5_000, 'the live tab ready frame');

    redis.signal('SIGSTOP');
    cleanup.push(async () => redis.signal('SIGCONT'));
    try {
      tab.send({ type: 'message', id: 'during-freeze', text: 'sent while Redis is frozen' });
      for (let i = 0; i < 2; i++) {
        const late = connect(node.url, `late${i}`);
        const closed = await within(late.closed, 4_000, `new handshake ${i} closed while Redis is frozen`);
        expect(closed.code).toBe(1013);
        expect(late.frames.some((f) => f.type === 'ready')).toBe(false);
      }
    } finally {
      redis.signal('SIGCONT');
    }

    // Back: the tab's message ran, new connections are accepted again, a bystander is fine.
    await within(tab.until(() => eventsOf(tab.frames).length >= RUN_EVENTS.length, 'the run of the message sent during the freeze'), 10_000, 'the frozen-time run');
    expect(tab.ws.readyState).toBe(tab.ws.OPEN);
    await bystanderRoundTrips(node.url, 3);
    await tab.close();
  });
});
