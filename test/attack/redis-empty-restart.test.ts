/**
 * Redis restarted EMPTY (killed, its data directory deleted, started again on the same port)
 * under a real `lockstep serve --redis`, with a live tab and a bystander that keeps
 * round-tripping on its own connection through the restart.
 *
 * What the docs promise (docs/protocol.md "Resume", docs/operations.md "What survives what"):
 * every live connection that joined in the old epoch is closed 1001 when its node learns of the
 * new one, it never receives an event of the new history, and its resume is told
 * `resumed:false reason:"epoch"`. That holds for the bystander too: its connection is closed
 * 1001 as well. A client that must not lose what it was acked then reads the new history from
 * its start (`?epoch=<new>&lastSeq=0`: it has seen none of it) and resends the message it waited
 * for with the same id — and so the bystander loses nothing it was acked: every message it sent
 * is acked once and its whole run reaches it, in order, gap-free within each epoch.
 *
 * The bystander sends its message of the restart while Redis is down (between the kill and the
 * restart): acked after Redis returned, in the new history. A run already in flight at the
 * instant Redis loses its data is another matter: its lease is lost with the data, so it can
 * never end (docs/operations.md, "What survives what"); the kill therefore happens between two
 * of the bystander's runs.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TestClient } from '../integration/client.js';
import { eventsOf, RUN_EVENTS } from '../integration/harness.js';
import type { ReadyFrame } from '../../src/protocol/frames.js';
import { describeWithRedis, RedisProcess } from '../integration/redis/redis-harness.js';
import { ServeProcess, within } from './attack-harness.js';
import { ResumingBystander } from './resuming-bystander.js';

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
const BEFORE = 3;
const AFTER = 4;

describeWithRedis('Redis restarted empty with a live tab and a round-tripping bystander (lockstep serve --redis)', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('closes the tab 1001 with reason "epoch" on resume; the bystander, reconnected, loses nothing it was acked', async () => {
    const redis = await RedisProcess.start();
    cleanup.push(() => redis.stop());
    const serve = await ServeProcess.start(['--redis', redis.url, '--log-level', 'warn']);
    cleanup.push(() => serve.kill());

    const tab = connect(serve.wsUrl, 'restart-tab');
    await within(tab.untilType('ready'), 10_000, 'the tab ready frame');
    const { epoch } = tab.frames[0] as ReadyFrame;
    tab.send({ type: 'message', id: 'tab-before', text: 'before' });
    await within(tab.until(() => eventsOf(tab.frames).length >= RUN_EVENTS.length, 'the tab run before the restart'), 10_000, 'the tab run');
    const seen = eventsOf(tab.frames).length;

    const bystander = new ResumingBystander(serve.wsUrl, 'restart-bystander');
    await bystander.connect();
    for (let i = 1; i <= BEFORE; i++) await bystander.roundTrip(`by-${i}`);

    // Killed between two bystander runs; the next round trip starts while Redis is down.
    await redis.kill();
    const across = bystander.roundTrip(`by-${BEFORE + 1}`);
    for (const name of readdirSync(redis.dir)) rmSync(join(redis.dir, name), { recursive: true, force: true });
    await redis.restart();
    for (let i = 0; i < 3; i++) tab.send({ type: 'message', id: `tab-after-${i}`, text: 'after' });
    await across;
    for (let i = BEFORE + 2; i <= BEFORE + AFTER; i++) await bystander.roundTrip(`by-${i}`);

    // The tab: closed 1001, nothing of the new history, and its resume is told "epoch".
    const closed = await within(tab.closed, 10_000, 'the tab closed after Redis came back empty');
    expect(closed.code).toBe(1001);
    expect(closed.reason).toBe('stream lost, resume');
    expect(eventsOf(tab.frames)).toHaveLength(seen);
    const resumed = connect(`${serve.wsUrl}?epoch=${epoch}&lastSeq=${seen}`, 'restart-tab');
    await within(resumed.untilType('ready'), 10_000, 'the tab resume ready frame');
    expect(resumed.frames[0]).toMatchObject({ type: 'ready', resumed: false, reason: 'epoch' });
    expect((resumed.frames[0] as ReadyFrame).epoch).not.toBe(epoch);
    await resumed.close();

    // The bystander: closed 1001 too (it joined in the old epoch), told "epoch" on its resume,
    // and every message it sent was acked and its whole run reached it.
    expect(bystander.serverCloses).toEqual([1001]);
    expect(bystander.readies.map((r) => r.reason ?? (r.resumed ? 'resumed' : 'fresh'))).toEqual(['fresh', 'epoch', 'resumed']);
    for (let i = 1; i <= BEFORE + AFTER; i++) {
      expect(bystander.acks.has(`by-${i}`), `by-${i} acked`).toBe(true);
      expect(bystander.runOf(`by-${i}`).map((e) => e.event), `the run of by-${i}`).toEqual(RUN_EVENTS);
    }
    // Each epoch's events are one gap-free sequence from 1.
    for (const [, events] of bystander.events) {
      const seqs = [...events.keys()].sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    await bystander.close();
    expect(serve.alive).toBe(true);
  }, 60_000);
});
