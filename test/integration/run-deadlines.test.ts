/**
 * Issue 15 item 4 on real sockets: a run past `runTimeoutMs`, or silent past
 * `runIdleTimeoutMs`, ends with `agent_error` `{ reason: "timeout", deadline, limitMs }`, its
 * handler's signal aborts with a TimeoutError, and what the handler emits afterwards never
 * reaches a client (nor counts as a handler fault). The server's clock is a SimulatedClock, so
 * the deadlines pass when the test says, never by waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer, type Harness } from './harness.js';
import { within } from '../support/within.js';
import type { EventFrame, ReadyFrame } from '../../src/protocol/frames.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string, user = 'alice') => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
const runEvents = (tab: TestClient, runId: string): EventFrame[] => eventsOf(tab.frames).filter((e) => e.runId === runId);

/** A handler that emits when told and records how its signal aborted and whether a late emission was refused. */
function steerableHandler() {
  const steps: Array<(run: { text(delta: string): void }) => void> = [];
  let wake = deferred();
  const aborted = deferred<unknown>();
  const late = deferred<string>();
  return {
    aborted,
    late,
    /** Makes the handler emit one text delta now. */
    emit(delta: string) {
      steps.push((run) => run.text(delta));
      wake.resolve();
    },
    handler: async (_message: unknown, run: { text(delta: string): void }, context: { signal: AbortSignal }) => {
      context.signal.addEventListener('abort', () => aborted.resolve(context.signal.reason), { once: true });
      for (;;) {
        await Promise.race([wake.promise, aborted.promise]);
        if (context.signal.aborted) break;
        wake = deferred();
        while (steps.length > 0) steps.shift()!(run);
      }
      try {
        run.text('after the deadline');
        late.resolve('emitted');
      } catch (error) {
        late.resolve((error as { code?: string }).code ?? String(error));
        throw error;
      }
    },
  };
}

describe('run deadlines', () => {
  it('runTimeoutMs: a run that keeps streaming still ends at its deadline; the handler is stopped, not faulted', async () => {
    const clock = new SimulatedClock();
    const steer = steerableHandler();
    h = await startServer({ clock, runTimeoutMs: 10_000, runIdleTimeoutMs: 4_000, handler: steer.handler as never });
    const tab = connect(h.url);
    await tab.untilType('ready');
    tab.send({ type: 'message', id: 'm1', text: 'long answer' });
    await tab.untilType('ack');
    const runId = (tab.frames.find((f) => f.type === 'ack') as { runId: string }).runId;
    // Active every 3 s: the idle deadline (4 s) never passes, the run deadline (10 s) does.
    for (let i = 1; i <= 3; i++) {
      clock.increment(3_000);
      steer.emit(`d${i}`);
      await tab.until(() => runEvents(tab, runId).length === 1 + i, `delta ${i}`);
    }
    expect(runEvents(tab, runId).some((e) => e.event === 'agent_error')).toBe(false);
    clock.increment(1_000);
    const reason = await within(steer.aborted.promise, 5_000, 'the handler signal aborted at the run deadline');
    expect((reason as unknown as Error).name).toBe('TimeoutError');
    expect(await within(steer.late.promise, 5_000, 'the emission after the deadline')).toBe('LOCKSTEP_ERR_EVENT_ORDER');
    await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_error'), 'agent_error at the run deadline');
    expect(runEvents(tab, runId).map((e) => e.event)).toEqual(['agent_started', 'text_delta', 'text_delta', 'text_delta', 'agent_error']);
    expect(runEvents(tab, runId).at(-1)!.data).toEqual({ reason: 'timeout', deadline: 'run', limitMs: 10_000 });
    // Stopped by the server, not a fault of the handler; the connection serves the next message.
    expect((await h.server.metrics.handlerFaults.get()).values[0]?.value ?? 0).toBe(0);
    tab.send({ type: 'ping', id: 'p' });
    await tab.until(() => tab.frames.some((f) => f.type === 'pong'), 'pong after the deadline');
    expect(runEvents(tab, runId)).toHaveLength(5);
    await tab.close();
  });

  it('runIdleTimeoutMs: silence ends the run; each event moves the deadline', async () => {
    const clock = new SimulatedClock();
    const steer = steerableHandler();
    h = await startServer({ clock, runIdleTimeoutMs: 5_000, handler: steer.handler as never });
    const tab = connect(h.url);
    await tab.untilType('ready');
    tab.send({ type: 'message', id: 'm1', text: 'hi' });
    await tab.untilType('ack');
    const runId = (tab.frames.find((f) => f.type === 'ack') as { runId: string }).runId;
    clock.increment(4_000);
    steer.emit('still here');
    await tab.until(() => runEvents(tab, runId).length === 2, 'the delta at 4 s');
    // 8 s after the start but only 4 s after the last event: still open.
    clock.increment(4_000);
    steer.emit('and here');
    await tab.until(() => runEvents(tab, runId).filter((e) => e.event === 'text_delta').length === 2, 'the second delta, at 8 s');
    expect(runEvents(tab, runId).map((e) => e.event)).toEqual(['agent_started', 'text_delta', 'text_delta']);
    clock.increment(5_000);
    await within(steer.aborted.promise, 5_000, 'the handler signal aborted at the idle deadline');
    await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_error'), 'agent_error at the idle deadline');
    expect(runEvents(tab, runId).at(-1)!.data).toEqual({ reason: 'timeout', deadline: 'idle', limitMs: 5_000 });
    await tab.close();
  });

  it('a deadline that passes while the tab is away is in its resume, once', async () => {
    const clock = new SimulatedClock();
    const steer = steerableHandler();
    h = await startServer({ clock, runIdleTimeoutMs: 2_000, handler: steer.handler as never });
    const tab = connect(h.url);
    await tab.untilType('ready');
    tab.send({ type: 'message', id: 'm1', text: 'hi' });
    await tab.until(() => eventsOf(tab.frames).length === 1, 'agent_started');
    const { epoch } = tab.frames.find((f) => f.type === 'ready') as ReadyFrame;
    const seen = eventsOf(tab.frames);
    const runId = seen[0]!.runId;
    await tab.close();
    clock.increment(2_000);
    await within(steer.aborted.promise, 5_000, 'the idle deadline while no tab was connected');
    const back = connect(`${h.url}?epoch=${epoch}&lastSeq=${seen.at(-1)!.seq}`);
    await back.until(() => runEvents(back, runId).some((e) => e.event === 'agent_error'), 'the timeout in the resume');
    expect((back.frames.find((f) => f.type === 'ready') as ReadyFrame).resumed).toBe(true);
    expect(runEvents(back, runId).map((e) => [e.event, e.data])).toEqual([['agent_error', { reason: 'timeout', deadline: 'idle', limitMs: 2_000 }]]);
    await back.close();
  });

  it('a run that ends in time sets no deadline that fires later', async () => {
    const clock = new SimulatedClock();
    h = await startServer({ clock, runTimeoutMs: 1_000, runIdleTimeoutMs: 1_000 });
    const tab = connect(h.url);
    await tab.untilType('ready');
    tab.send({ type: 'message', id: 'm1', text: 'hello' });
    await tab.until(() => eventsOf(tab.frames).some((e) => e.event === 'agent_completed'), 'the demo run completed');
    const count = eventsOf(tab.frames).length;
    clock.increment(5_000);
    tab.send({ type: 'ping', id: 'p' });
    await tab.until(() => tab.frames.some((f) => f.type === 'pong'), 'pong');
    expect(eventsOf(tab.frames)).toHaveLength(count);
    await tab.close();
  });

  it('bad deadline options are refused by name', async () => {
    await expect(startServer({ runTimeoutMs: 0 })).rejects.toMatchObject({ code: 'LOCKSTEP_ERR_INVALID_OPTION', message: expect.stringContaining('runTimeoutMs') });
    await expect(startServer({ runIdleTimeoutMs: 2 ** 31 })).rejects.toMatchObject({ code: 'LOCKSTEP_ERR_INVALID_OPTION', message: expect.stringContaining('at most') });
  });
});
