/**
 * Issue 15 item 3 on real sockets (one server): a `cancel` frame from any tab of the user ends
 * the run at once with `agent_error` `{ reason: "cancelled" }`, aborts the handler's
 * `context.signal`, and refuses every event the handler emits afterwards (none reaches a
 * client); a finished, unknown or foreign run is refused with `LOCKSTEP_E_RUN_NOT_CANCELLABLE`
 * (ref = the run id), and the connection keeps serving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer, type Harness } from './harness.js';

/** A promise and its resolve, carrying a value. */
function answer<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}
import { within } from '../support/within.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string, user = 'alice') => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

describe('cancel', () => {
  it('from another tab: the run ends cancelled, the signal aborts, later emissions never reach a client', async () => {
    const aborted = answer<unknown>();
    const afterCancel = answer<string>();
    h = await startServer({
      handler: async (_message, run, context) => {
        run.thinking({ step: 1 });
        // A handler that ignores the signal at first and keeps emitting once it fired.
        await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted.resolve(context.signal.reason);
        try {
          run.thinking({ step: 2 });
          afterCancel.resolve('emitted');
        } catch (error) {
          afterCancel.resolve((error as { code?: string }).code ?? String(error));
          throw error;
        }
      },
    });
    const tab1 = connect(h.url);
    const tab2 = connect(h.url);
    await Promise.all([tab1.untilType('ready'), tab2.untilType('ready')]);
    tab1.send({ type: 'message', id: 'm1', text: 'long answer' });
    await tab1.until(() => eventsOf(tab1.frames).some((e) => e.event === 'agent_thinking'), 'the run thinking');
    const runId = eventsOf(tab1.frames)[0]!.runId;

    tab2.send({ type: 'cancel', runId });
    await within(aborted.promise, 5_000, 'the handler signal aborted');
    expect(await within(afterCancel.promise, 5_000, 'the emission after the cancel')).toBe('LOCKSTEP_ERR_EVENT_ORDER');
    for (const tab of [tab1, tab2]) {
      await tab.until(() => eventsOf(tab.frames).some((e) => e.event === 'agent_error'), 'agent_error on every tab');
      const run = eventsOf(tab.frames).filter((e) => e.runId === runId);
      expect(run.map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'agent_error']);
      expect(run.at(-1)!.data).toEqual({ reason: 'cancelled' });
    }
    // The connection goes on: a new message runs, and nothing after the cancel ever arrived.
    tab1.send({ type: 'ping', id: 'p1' });
    await tab1.until(() => tab1.frames.some((f) => f.type === 'pong'), 'pong');
    expect(eventsOf(tab1.frames).filter((e) => e.runId === runId)).toHaveLength(3);
    await Promise.all([tab1.close(), tab2.close()]);
  });

  it('a finished, unknown or foreign run: LOCKSTEP_E_RUN_NOT_CANCELLABLE with ref = the run id; not a bad frame', async () => {
    const release = deferred();
    h = await startServer({
      limits: { maxBadFrames: 2 },
      handler: async (message) => {
        if (message.text === 'wait') await release.promise;
        return 'done';
      },
    });
    const alice = connect(h.url, 'alice');
    const bob = connect(h.url, 'bob');
    await Promise.all([alice.untilType('ready'), bob.untilType('ready')]);
    alice.send({ type: 'message', id: 'quick', text: 'now' });
    alice.send({ type: 'message', id: 'slow', text: 'wait' });
    await alice.untilType('ack', 2);
    const [quick, slow] = alice.frames.filter((f) => f.type === 'ack').map((f) => (f as { runId: string }).runId);
    await alice.until(() => eventsOf(alice.frames).some((e) => e.runId === quick && e.event === 'agent_completed'), 'the quick run done');

    alice.send({ type: 'cancel', runId: quick });
    alice.send({ type: 'cancel', runId: 'no-such-run' });
    bob.send({ type: 'cancel', runId: slow });
    await alice.until(() => alice.frames.filter((f) => f.type === 'error').length === 2, 'two refusals');
    await bob.until(() => bob.frames.some((f) => f.type === 'error'), 'bob refused');
    const refusals = [...alice.frames, ...bob.frames].filter((f) => f.type === 'error');
    expect(refusals.map((f) => [(f as { code: string }).code, (f as { ref?: string }).ref])).toEqual([
      ['LOCKSTEP_E_RUN_NOT_CANCELLABLE', quick],
      ['LOCKSTEP_E_RUN_NOT_CANCELLABLE', 'no-such-run'],
      ['LOCKSTEP_E_RUN_NOT_CANCELLABLE', slow],
    ]);
    // Bob's attempt changed nothing: alice's run finishes normally; two refusals did not close her (maxBadFrames 2).
    release.resolve();
    await alice.until(() => eventsOf(alice.frames).some((e) => e.runId === slow && e.event === 'agent_completed'), 'the slow run completed');
    alice.send({ type: 'cancel', runId: '' });
    await alice.until(() => alice.frames.filter((f) => f.type === 'error').length === 3, 'a cancel without a run id refused');
    expect(alice.frames.filter((f) => f.type === 'error').at(-1)).toMatchObject({ code: 'LOCKSTEP_E_BAD_FRAME' });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('across a reconnect: a tab that resumed cancels the run it saw start before it dropped', async () => {
    const aborted = deferred();
    h = await startServer({
      handler: async (_message, run, context) => {
        run.text('partial');
        await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted.resolve();
      },
    });
    const tab = connect(h.url);
    await tab.untilType('ready');
    tab.send({ type: 'message', id: 'm1', text: 'long' });
    await tab.until(() => eventsOf(tab.frames).some((e) => e.event === 'text_delta'), 'the first delta');
    const { epoch } = tab.frames.find((f) => f.type === 'ready') as { epoch: string };
    const seen = eventsOf(tab.frames);
    const runId = seen[0]!.runId;
    await tab.close();

    const back = connect(`${h.url}?epoch=${epoch}&lastSeq=${seen.at(-1)!.seq}`);
    await back.untilType('ready');
    expect(back.frames[0]).toMatchObject({ type: 'ready', resumed: true });
    back.send({ type: 'cancel', runId });
    await within(aborted.promise, 5_000, 'the handler signal aborted by the resumed tab');
    await back.until(() => eventsOf(back.frames).some((e) => e.event === 'agent_error'), 'agent_error after the resume');
    expect(eventsOf(back.frames).map((e) => [e.event, e.data])).toEqual([['agent_error', { reason: 'cancelled' }]]);
    await back.close();
  });
});
