/**
 * Resume (I5): a client terminated mid-run reconnects with `?epoch&lastSeq` and receives
 * exactly the events it missed, in order, before live ones; outside retention it is told.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer, type Harness } from './harness.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { ReadyFrame } from '../../src/protocol/frames.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

describe('resume', () => {
  it('a client terminated mid-run gets exactly the missed events, then live ones', async () => {
    const gate = deferred();
    h = await startServer({
      handler: async (message, run) => {
        run.thinking({ step: 1 });
        if (message.text === 'slow') await gate.promise;
        run.toolStarted('t');
        run.toolCompleted('t');
        run.complete({ text: `echo: ${message.text}` });
      },
    });
    const first = connect(h.url, 'alice');
    await first.untilType('ready');
    const { epoch } = first.frames[0] as ReadyFrame;
    first.send({ type: 'message', id: 'm1', text: 'slow' });
    await first.until(() => eventsOf(first.frames).length === 2, 'started + thinking');
    first.ws.terminate();
    await first.closed;
    const lastSeq = eventsOf(first.frames).at(-1)!.seq;
    expect(lastSeq).toBe(2);

    gate.resolve(); // the run finishes while nobody is connected
    const second = connect(`${h.url}?epoch=${epoch}&lastSeq=${lastSeq}`, 'alice');
    await second.untilType('ready');
    expect(second.frames[0]).toMatchObject({ type: 'ready', resumed: true, epoch });
    second.send({ type: 'message', id: 'm2', text: 'live' });
    await second.until(() => eventsOf(second.frames).length === 8, 'replay + live run');
    const seqs = eventsOf(second.frames).map((e) => e.seq);
    expect(seqs).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(eventsOf(second.frames).slice(0, 3).map((e) => e.event)).toEqual(['tool_executing', 'tool_completed', 'agent_completed']);
    await second.close();
  });

  it('a wrong epoch → resumed:false reason epoch; a seq older than retention → reason gap', async () => {
    const log = new MemoryEventLog({ retainEvents: 3 });
    h = await startServer({ eventLog: log });
    const c = connect(h.url, 'bob');
    await c.untilType('ready');
    c.send({ type: 'message', id: 'm', text: 'x' });
    await c.until(() => eventsOf(c.frames).length === 5, 'run');
    await c.close();

    const wrongEpoch = connect(`${h.url}?epoch=not-this-one&lastSeq=1`, 'bob');
    await wrongEpoch.untilType('ready');
    expect(wrongEpoch.frames[0]).toMatchObject({ resumed: false, reason: 'epoch', lastSeq: 5 });
    expect(wrongEpoch.frames).toHaveLength(1);

    const tooOld = connect(`${h.url}?epoch=${log.epoch}&lastSeq=1`, 'bob');
    await tooOld.untilType('ready');
    expect(tooOld.frames[0]).toMatchObject({ resumed: false, reason: 'gap', lastSeq: 5 });
    expect(tooOld.frames).toHaveLength(1);

    const inside = connect(`${h.url}?epoch=${log.epoch}&lastSeq=3`, 'bob');
    await inside.until(() => eventsOf(inside.frames).length === 2, 'replay');
    expect(eventsOf(inside.frames).map((e) => e.seq)).toEqual([4, 5]);
    await Promise.all([wrongEpoch.close(), tooOld.close(), inside.close()]);
  });

  it('two tabs of one user both receive every event; another user sees none of them', async () => {
    h = await startServer();
    const tab1 = connect(h.url, 'carol');
    const tab2 = connect(h.url, 'carol');
    const other = connect(h.url, 'dave');
    await Promise.all([tab1.untilType('ready'), tab2.untilType('ready'), other.untilType('ready')]);
    tab1.send({ type: 'message', id: '1', text: 'from tab 1' });
    other.send({ type: 'message', id: '1', text: 'from dave' });
    await Promise.all([
      tab1.until(() => eventsOf(tab1.frames).length === 5),
      tab2.until(() => eventsOf(tab2.frames).length === 5),
      other.until(() => eventsOf(other.frames).length === 5),
    ]);
    expect(eventsOf(tab2.frames)).toEqual(eventsOf(tab1.frames));
    expect(eventsOf(other.frames).at(-1)?.data).toEqual({ text: 'echo: from dave' });
    expect(eventsOf(tab1.frames).every((e) => e.runId !== eventsOf(other.frames)[0]?.runId)).toBe(true);
    await Promise.all([tab1.close(), tab2.close(), other.close()]);
  });
});
