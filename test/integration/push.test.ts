/** Pushes outside a request reach every tab of the user, under the run grammar. */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { eventsOf, startServer, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

describe('server.sendToUser / server.startRun', () => {
  it('reaches both tabs of the user and nobody else, with the next seqs', async () => {
    h = await startServer();
    const [tab1, tab2, other] = ['erin', 'erin', 'frank'].map((u) => new TestClient(h!.url, { protocols: ['lockstep.v1', `lockstep.bearer.${u}`] }));
    await Promise.all([tab1!.untilType('ready'), tab2!.untilType('ready'), other!.untilType('ready')]);
    const runId = h.server.sendToUser('erin', { text: 'critical: build finished' });
    const run = h.server.startRun('erin');
    run.toolStarted('t');
    expect(() => run.complete()).toThrow(/LOCKSTEP_ERR_EVENT_ORDER|cannot emit agent_completed/);
    run.toolCompleted('t');
    run.complete({ text: 'done' });
    for (const tab of [tab1!, tab2!]) {
      await tab.until(() => eventsOf(tab.frames).length === 6, 'six events');
      const events = eventsOf(tab.frames);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(events[0]).toMatchObject({ runId, event: 'agent_started' });
      expect(events[1]).toMatchObject({ runId, event: 'agent_completed', data: { text: 'critical: build finished' } });
      // Events are encoded once for all tabs as bytes, and still sent as text frames.
      expect(tab.binaryFrames).toBe(0);
    }
    other!.send({ type: 'ping', id: 'sync' });
    await other!.untilType('pong');
    expect(eventsOf(other!.frames)).toEqual([]);
    await Promise.all([tab1!.close(), tab2!.close(), other!.close()]);
  });
});
