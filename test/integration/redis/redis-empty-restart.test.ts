/**
 * Redis restarted EMPTY (killed, its data directory deleted, started again on the same port)
 * while a tab is live: the tab's stream cannot continue (its seqs belong to the lost history),
 * so the tab is closed 1001 and its resume is told `resumed:false reason:"epoch"` — never a
 * silent stall, never events of the new history on the old connection. Repeated, because
 * which command first reveals the new epoch (the tab's own append, a read, a notification,
 * the reconnect's epoch refresh) is a race.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TestClient } from '../client.js';
import { eventsOf, RUN_EVENTS } from '../harness.js';
import type { ReadyFrame } from '../../../src/protocol/frames.js';
import { describeWithRedis, LockstepNode, RedisProcess } from './redis-harness.js';
import { within } from '../../attack/attack-harness.js';

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

/**
 * Waits (bounded) until the node answers `GET /ready` with 200 — its Redis connections are back
 * (docs/operations.md, readiness) — the condition under which a handshake is not refused 1013.
 */
async function untilNodeReady(node: LockstepNode, what: string): Promise<void> {
  const url = node.url.replace(/^ws/, 'http').replace(/\/ws(\?.*)?$/, '/ready');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await fetch(url).then((res) => res.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${what}: the node did not report /ready 200 within 10 s (last ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A tab that reached `ready`. Right after Redis came back the node may still refuse a
 * handshake with 1013 (try again later: its subscriber reconnects on its own schedule); a
 * client then connects again once the node is ready, as the protocol says. Any other close
 * before `ready` fails, naming its code.
 */
async function readyTab(node: LockstepNode, url: string, user: string, what: string): Promise<TestClient> {
  for (let attempt = 1; ; attempt++) {
    await untilNodeReady(node, what);
    const tab = connect(url, user);
    const outcome = await within(
      Promise.race([tab.untilType('ready').then(() => undefined, () => undefined), tab.closed]),
      10_000,
      `${what}: ready or a close`,
    );
    if (tab.frames[0]?.type === 'ready') return tab;
    const close = outcome ?? (await tab.closed);
    if (close.code !== 1013 || attempt >= 5) throw new Error(`${what}: closed ${close.code} (${close.reason}) before ready, attempt ${attempt}`);
  }
}

async function restartEmpty(redis: RedisProcess): Promise<void> {
  await redis.kill();
  for (const name of readdirSync(redis.dir)) rmSync(join(redis.dir, name), { recursive: true, force: true });
  await redis.restart();
}

describeWithRedis('Redis restarted empty while a tab is live', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('closes the tab 1001 every time, and its resume says reason "epoch"', async () => {
    const redis = await RedisProcess.start();
    cleanup.push(() => redis.stop());
    const node = await LockstepNode.start(redis.url);
    cleanup.push(() => node.kill());

    for (let trial = 0; trial < 4; trial++) {
      const user = `tab${trial}`;
      const tab = await readyTab(node, node.url, user, `trial ${trial}: the tab`);
      const { epoch } = tab.frames[0] as ReadyFrame;
      // History in the old epoch, so the tab's cursor is ahead of the new history's seqs.
      tab.send({ type: 'message', id: `before${trial}`, text: 'before' });
      await tab.until(() => eventsOf(tab.frames).length >= RUN_EVENTS.length, 'the run before the restart');
      const seen = eventsOf(tab.frames).length;

      await restartEmpty(redis);
      // The next messages are appended in the new history, whose seqs soon pass the tab's cursor.
      for (let i = 0; i < 3; i++) tab.send({ type: 'message', id: `after${trial}-${i}`, text: 'after' });
      const closed = await within(tab.closed, 10_000, `trial ${trial}: the tab closed after Redis came back empty`);
      expect(closed.code, `trial ${trial}: the tab is closed 1001`).toBe(1001);
      expect(closed.reason, `trial ${trial}: the close says why`).toBe('stream lost, resume');
      // Nothing of the new history reached the old connection.
      expect(eventsOf(tab.frames)).toHaveLength(seen);

      const resumed = await readyTab(node, `${node.url}?epoch=${epoch}&lastSeq=${seen}`, user, `trial ${trial}: the resume`);
      const ready = resumed.frames[0] as ReadyFrame;
      expect(ready).toMatchObject({ type: 'ready', resumed: false, reason: 'epoch' });
      expect(ready.epoch).not.toBe(epoch);
      await resumed.close();
    }
  });
});
