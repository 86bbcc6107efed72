import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/agent/run-handle.js';
import { runHandler, type MessageHandler } from '../../src/agent/handler.js';
import { demoAgent } from '../../src/agent/demo-agent.js';
import { LockstepError } from '../../src/protocol/errors.js';

function recordedRun() {
  const events: Array<{ event: string; data: unknown }> = [];
  const run = startRun('r1', 'alice', (event, data) => events.push({ event, data }));
  return { run, events, names: () => events.map((e) => e.event) };
}

function expectOrderError(fn: () => void, text: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    expect((error as LockstepError).code).toBe('LOCKSTEP_ERR_EVENT_ORDER');
    expect((error as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected LOCKSTEP_ERR_EVENT_ORDER');
}

describe('agent-run machine through the run handle (I6)', () => {
  it('emits agent_started on creation and the demo agent completes the grammar', () => {
    const { run, names, events } = recordedRun();
    void demoAgent({ id: 'm', text: 'hi' }, run, { userId: 'alice', connectionId: 'c' });
    expect(names()).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
    expect(events.at(-1)?.data).toEqual({ text: 'echo: hi' });
    expect(run.ended).toBe(true);
  });

  it('several tool calls open at once, completed by id in any order', () => {
    const { run, names } = recordedRun();
    run.toolStarted('a');
    run.toolStarted('b');
    run.thinking();
    run.toolCompleted('a');
    expect(run.openToolCalls).toEqual(['b']);
    run.toolCompleted('b');
    run.complete();
    expect(names()).toEqual(['agent_started', 'tool_executing', 'tool_executing', 'agent_thinking', 'tool_completed', 'tool_completed', 'agent_completed']);
  });

  it('refuses complete() with a tool call open, and emits nothing', () => {
    const { run, events } = recordedRun();
    run.toolStarted('a');
    const before = events.length;
    expectOrderError(() => run.complete(), /agent_completed in state toolsOpen; open tool calls: a/);
    expect(events).toHaveLength(before);
  });

  it('refuses an unknown tool_completed and a duplicate tool_executing', () => {
    const { run } = recordedRun();
    expectOrderError(() => run.toolCompleted('zzz'), /tool_completed\(zzz\)/);
    run.toolStarted('a');
    expectOrderError(() => run.toolStarted('a'), /tool_executing\(a\)/);
  });

  it('accepts nothing after the end', () => {
    const { run } = recordedRun();
    run.complete();
    for (const call of [() => run.thinking(), () => run.toolStarted('x'), () => run.complete(), () => run.fail()]) {
      expectOrderError(call, /\(ended\)/);
    }
  });

  it('fail() may end a run with tool calls open', () => {
    const { run, names } = recordedRun();
    run.toolStarted('a');
    run.fail({ reason: 'tool crashed' });
    expect(names().at(-1)).toBe('agent_error');
    expect(run.ended).toBe(true);
  });
});

describe('runHandler: how a handler outcome ends its run (I9)', () => {
  async function outcome(handler: MessageHandler) {
    const { run, events } = recordedRun();
    const faults: unknown[] = [];
    await runHandler(handler, { id: 'm', text: 't' }, run, { userId: 'alice', connectionId: 'c' }, (e) => faults.push(e));
    return { events, faults };
  }

  it('a returned string completes with {text}', async () => {
    const { events } = await outcome(() => 'done');
    expect(events.at(-1)).toEqual({ event: 'agent_completed', data: { text: 'done' } });
  });

  it('a throw becomes agent_error handler_error, and is reported', async () => {
    const { events, faults } = await outcome(async () => {
      throw new Error('boom');
    });
    expect(events.at(-1)).toEqual({ event: 'agent_error', data: { reason: 'handler_error', message: 'boom' } });
    expect(faults).toHaveLength(1);
  });

  it('returning with a tool call open ends with agent_error tool_calls_open', async () => {
    const { events } = await outcome((_m, run) => run.toolStarted('t'));
    expect(events.at(-1)).toEqual({ event: 'agent_error', data: { reason: 'tool_calls_open', openToolCalls: ['t'] } });
  });

  it('an out-of-order emission inside the handler fails the run instead of reaching a client', async () => {
    const { events } = await outcome((_m, run) => {
      run.toolStarted('t');
      run.complete();
    });
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'tool_executing', 'agent_error']);
  });
});
