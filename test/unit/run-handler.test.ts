import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/agent/run-handle.js';
import { runHandler, type MessageHandler } from '../../src/agent/handler.js';

const context = { userId: 'alice', connectionId: 'c', signal: new AbortController().signal };

function run(handler: MessageHandler) {
  const events: Array<{ event: string; data: unknown }> = [];
  const faults: unknown[] = [];
  const handle = startRun('r1', 'alice', (event, data) => events.push({ event, data }));
  const settled = runHandler(handler, { id: 'm', text: 'hi' }, handle, context, (error) => faults.push(error));
  return { handle, events, faults, settled, names: () => events.map((e) => e.event) };
}

describe('runHandler: how a handler ends its run', () => {
  it('ends the run before returning undefined when the handler answers synchronously (no promise to wait for, no deadline timer)', () => {
    const r = run(() => 'done');
    expect(r.handle.ended).toBe(true);
    expect(r.events.at(-1)).toEqual({ event: 'agent_completed', data: { text: 'done' } });
    expect(r.settled).toBeUndefined();
  });

  it('a synchronous throw ends the run with agent_error handler_error, reported once, before it returns', async () => {
    const r = run(() => {
      throw new Error('boom');
    });
    expect(r.handle.ended).toBe(true);
    expect(r.events.at(-1)).toEqual({ event: 'agent_error', data: { reason: 'handler_error', message: 'boom' } });
    expect(r.faults).toHaveLength(1);
    expect(r.settled).toBeUndefined();
  });

  it('a handler that leaves a tool call open ends with tool_calls_open, synchronously', () => {
    const r = run((_, handle) => handle.toolStarted('t1'));
    expect(r.names()).toEqual(['agent_started', 'tool_executing', 'agent_error']);
    expect(r.events.at(-1)?.data).toEqual({ reason: 'tool_calls_open', openToolCalls: ['t1'] });
  });

  it('a promise (or any thenable) ends the run when it settles, not before', async () => {
    let resolve!: (value: unknown) => void;
    let thenCalled!: () => void;
    const adopted = new Promise<void>((done) => (thenCalled = done));
    const r = run(() => ({
      then: (onFulfilled: (value: unknown) => void) => {
        resolve = onFulfilled;
        thenCalled();
      },
    }));
    expect(r.handle.ended).toBe(false);
    expect(r.settled).toBeInstanceOf(Promise);
    await adopted; // the thenable is adopted a microtask later; its run is still open
    expect(r.handle.ended).toBe(false);
    resolve({ answer: 42 });
    await r.settled;
    expect(r.events.at(-1)).toEqual({ event: 'agent_completed', data: { answer: 42 } });
  });

  it('a rejected promise ends the run with agent_error, and a handler that ended its run itself is left alone', async () => {
    const rejected = run(async () => {
      throw new Error('late');
    });
    await rejected.settled;
    expect(rejected.events.at(-1)).toEqual({ event: 'agent_error', data: { reason: 'handler_error', message: 'late' } });
    const ownEnd = run((_, handle) => handle.fail({ reason: 'mine' }));
    await ownEnd.settled;
    expect(ownEnd.names()).toEqual(['agent_started', 'agent_error']);
    expect(ownEnd.faults).toEqual([]);
  });
});
