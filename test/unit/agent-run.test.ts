import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { agentRunMachine } from '../../machines/agent-run.js';
import { startRun, type AgentRunMachine } from '../../src/agent/run-handle.js';
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
    void demoAgent({ id: 'm', text: 'hi' }, run, { userId: 'alice', connectionId: 'c', signal: new AbortController().signal });
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

describe('streaming deltas through the run handle (issue 15 item 1)', () => {
  it('text deltas anywhere between start and end; tool-argument deltas only for an open call', () => {
    const { run, events, names } = recordedRun();
    run.text('Hel');
    run.text('lo');
    run.toolStarted('a');
    run.text(' (looking)');
    run.toolArgs('a', '{"q":');
    run.toolArgs('a', '"x"}');
    run.toolCompleted('a');
    run.text('!');
    run.complete();
    expect(names()).toEqual(['agent_started', 'text_delta', 'text_delta', 'tool_executing', 'text_delta', 'tool_args_delta', 'tool_args_delta', 'tool_completed', 'text_delta', 'agent_completed']);
    expect(events[5]?.data).toEqual({ toolCallId: 'a', delta: '{"q":' });
    expect(events[1]?.data).toEqual({ delta: 'Hel' });
  });

  it('refuses a tool-argument delta for a call that is not open — before, after, and another id — and emits nothing', () => {
    const { run, events } = recordedRun();
    expectOrderError(() => run.toolArgs('a', '{'), /tool_args_delta\(a\) in state started/);
    run.toolStarted('a');
    for (let i = 0; i < 3; i++) run.toolArgs('a', '{'); // a burst: answered from the unchanged snapshot
    expectOrderError(() => run.toolArgs('b', '{'), /tool_args_delta\(b\) in state toolsOpen; open tool calls: a/);
    run.toolArgs('a', '}');
    run.toolCompleted('a');
    const before = events.length;
    expectOrderError(() => run.toolArgs('a', 'late'), /tool_args_delta\(a\) in state thinking/);
    run.complete();
    expectOrderError(() => run.text('after the end'), /text_delta in state completed \(ended\)/);
    expect(events).toHaveLength(before + 1);
  });

  it('a delta must be a string: LOCKSTEP_ERR_INVALID_ARGUMENT, nothing emitted', () => {
    const { run, events } = recordedRun();
    for (const call of [() => run.text(42 as unknown as string), () => run.toolArgs('a', null as unknown as string)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_ARGUMENT' }));
    }
    expect(events).toHaveLength(1);
  });

  it('a run started with a thread carries it in agent_started and run.threadId', () => {
    const events: Array<{ event: string; data: unknown }> = [];
    const run = startRun('r1', 'alice', (event, data) => events.push({ event, data }), undefined, { threadId: 't1' });
    expect(run.threadId).toBe('t1');
    expect(events).toEqual([{ event: 'agent_started', data: { threadId: 't1' } }]);
  });
});

describe('runHandler: how a handler outcome ends its run (I9)', () => {
  async function outcome(handler: MessageHandler) {
    const { run, events } = recordedRun();
    const faults: unknown[] = [];
    await runHandler(handler, { id: 'm', text: 't' }, run, { userId: 'alice', connectionId: 'c', signal: new AbortController().signal }, (e) => faults.push(e));
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

// ── Additional coverage: every transition and refusal of agentRunMachine ──

describe('agentRunMachine directly: transitions', () => {
  const fresh = () => {
    const actor = createActor(agentRunMachine, { input: { runId: 'r' } });
    actor.start();
    return actor;
  };

  it('started → thinking → thinking → toolsOpen → thinking → completed', () => {
    const a = fresh();
    expect(a.getSnapshot().value).toBe('started');
    a.send({ type: 'run.thinking' });
    expect(a.getSnapshot().value).toBe('thinking');
    a.send({ type: 'run.thinking' });
    expect(a.getSnapshot().value).toBe('thinking');
    a.send({ type: 'run.toolStarted', toolCallId: 't' });
    expect(a.getSnapshot().value).toBe('toolsOpen');
    a.send({ type: 'run.thinking' });
    expect(a.getSnapshot().value).toBe('toolsOpen');
    a.send({ type: 'run.toolCompleted', toolCallId: 't' });
    expect(a.getSnapshot().value).toBe('thinking');
    a.send({ type: 'run.complete' });
    expect(a.getSnapshot().value).toBe('completed');
    expect(a.getSnapshot().status).toBe('done');
  });

  it.each([
    ['started', [] as const],
    ['thinking', [{ type: 'run.thinking' }] as const],
  ])('from %s: complete and fail are allowed, toolCompleted is not', (_name, prefix) => {
    const a = fresh();
    for (const e of prefix) a.send(e);
    const s = a.getSnapshot();
    expect(s.can({ type: 'run.complete' })).toBe(true);
    expect(s.can({ type: 'run.fail' })).toBe(true);
    expect(s.can({ type: 'run.toolCompleted', toolCallId: 'x' })).toBe(false);
    expect(s.can({ type: 'run.toolStarted', toolCallId: 'x' })).toBe(true);
  });

  it('toolsOpen: complete refused, fail allowed and clears open calls, unknown/duplicate ids refused', () => {
    const a = fresh();
    a.send({ type: 'run.toolStarted', toolCallId: 'a' });
    const s = a.getSnapshot();
    expect(s.can({ type: 'run.complete' })).toBe(false);
    expect(s.can({ type: 'run.toolStarted', toolCallId: 'a' })).toBe(false);
    expect(s.can({ type: 'run.toolCompleted', toolCallId: 'b' })).toBe(false);
    expect(s.can({ type: 'run.toolCompleted', toolCallId: 'a' })).toBe(true);
    a.send({ type: 'run.fail' });
    expect(a.getSnapshot().value).toBe('failed');
    expect(a.getSnapshot().context.openToolCalls).toEqual([]);
  });

  it('a completed tool id may be reused afterwards', () => {
    const a = fresh();
    a.send({ type: 'run.toolStarted', toolCallId: 'a' });
    a.send({ type: 'run.toolCompleted', toolCallId: 'a' });
    expect(a.getSnapshot().can({ type: 'run.toolStarted', toolCallId: 'a' })).toBe(true);
  });

  it('nothing is possible from completed or failed', () => {
    for (const end of [{ type: 'run.complete' }, { type: 'run.fail' }] as const) {
      const a = fresh();
      a.send(end);
      const s = a.getSnapshot();
      for (const e of [
        { type: 'run.thinking' },
        { type: 'run.toolStarted', toolCallId: 'x' },
        { type: 'run.toolCompleted', toolCallId: 'x' },
        { type: 'run.complete' },
        { type: 'run.fail' },
      ] as const) expect(s.can(e)).toBe(false);
    }
  });
});

describe('run handle: emitted events and refusals', () => {
  it('happy path emits the five events with data (toolCallId merged into tool data)', () => {
    const { run, events } = recordedRun();
    run.thinking({ step: 1 });
    run.toolStarted('t1', { name: 'search' });
    run.toolCompleted('t1', { result: 42 });
    run.complete({ text: 'ok' });
    expect(events).toEqual([
      { event: 'agent_started', data: {} },
      { event: 'agent_thinking', data: { step: 1 } },
      { event: 'tool_executing', data: { name: 'search', toolCallId: 't1' } },
      { event: 'tool_completed', data: { result: 42, toolCallId: 't1' } },
      { event: 'agent_completed', data: { text: 'ok' } },
    ]);
    expect(run.ended).toBe(true);
    expect(run.runId).toBe('r1');
    expect(run.userId).toBe('alice');
  });

  it('two tool calls open at once, completed out of start order, matched by id', () => {
    const { run, names } = recordedRun();
    run.toolStarted('a');
    run.toolStarted('b');
    expect(run.openToolCalls).toEqual(['a', 'b']);
    run.toolCompleted('b');
    expect(run.openToolCalls).toEqual(['a']);
    expectOrderError(() => run.complete(), /open tool calls: a/);
    run.toolCompleted('a');
    run.complete();
    expect(names()).toEqual(['agent_started', 'tool_executing', 'tool_executing', 'tool_completed', 'tool_completed', 'agent_completed']);
  });

  it('complete with a tool open: LockstepError LOCKSTEP_ERR_EVENT_ORDER, nothing emitted, run still usable', () => {
    const { run, events } = recordedRun();
    run.toolStarted('a');
    const before = [...events];
    let caught: unknown;
    try {
      run.complete();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LockstepError);
    expect((caught as LockstepError).code).toBe('LOCKSTEP_ERR_EVENT_ORDER');
    expect(events).toEqual(before);
    expect(run.ended).toBe(false);
    run.toolCompleted('a');
    run.complete();
    expect(run.ended).toBe(true);
  });

  it('toolCompleted with an unknown id throws and emits nothing (also while other tools are open)', () => {
    const { run, events } = recordedRun();
    expectOrderError(() => run.toolCompleted('ghost'), /tool_completed\(ghost\) in state started/);
    run.toolStarted('a');
    const n = events.length;
    expectOrderError(() => run.toolCompleted('ghost'), /tool_completed\(ghost\) in state toolsOpen/);
    expect(events).toHaveLength(n);
  });

  it('duplicate toolStarted id throws and emits nothing', () => {
    const { run, events } = recordedRun();
    run.toolStarted('dup');
    const n = events.length;
    expectOrderError(() => run.toolStarted('dup'), /tool_executing\(dup\)/);
    expect(events).toHaveLength(n);
    expect(run.openToolCalls).toEqual(['dup']);
  });

  it('anything after fail throws and emits nothing', () => {
    const { run, events } = recordedRun();
    run.fail({ reason: 'x' });
    const n = events.length;
    for (const call of [
      () => run.thinking(),
      () => run.toolStarted('x'),
      () => run.toolCompleted('x'),
      () => run.complete(),
      () => run.fail(),
    ]) {
      expectOrderError(call, /failed \(ended\)/);
    }
    expect(events).toHaveLength(n);
  });

  it('anything after complete throws, including toolCompleted', () => {
    const { run } = recordedRun();
    run.complete();
    expectOrderError(() => run.toolCompleted('x'), /completed \(ended\)/);
  });

  it('a run that ends in one step without an actor is refused afterwards like any other', () => {
    const quick = recordedRun();
    quick.run.complete({ text: 'hi' });
    expect(quick.run.ended).toBe(true);
    expect(quick.run.openToolCalls).toEqual([]);
    expectOrderError(() => quick.run.thinking(), /completed \(ended\)/);
    expect(quick.names()).toEqual(['agent_started', 'agent_completed']);
  });

  it('a run machine with actions on the way to its end gets an actor, so they run', () => {
    // The shared-snapshot shortcut only applies to a transition that runs nothing.
    let entered = 0;
    const { config, implementations } = agentRunMachine;
    const variant = createMachine(
      { ...config, states: { ...config.states, completed: { type: 'final', entry: () => void (entered += 1) } } },
      implementations,
    ) as unknown as AgentRunMachine;
    const run = startRun('r2', 'alice', () => {}, variant);
    run.complete();
    expect(entered).toBe(1);
    expect(run.ended).toBe(true);
  });

  it('fail with two tools open is allowed and ends the run', () => {
    const { run, names } = recordedRun();
    run.toolStarted('a');
    run.toolStarted('b');
    run.fail({ reason: 'crash' });
    expect(names()).toEqual(['agent_started', 'tool_executing', 'tool_executing', 'agent_error']);
    expect(run.ended).toBe(true);
    expect(run.openToolCalls).toEqual([]);
  });
});

describe('runHandler: more outcomes', () => {
  async function outcome(handler: MessageHandler) {
    const { run, events } = recordedRun();
    const faults: unknown[] = [];
    await runHandler(handler, { id: 'm', text: 't' }, run, { userId: 'alice', connectionId: 'c', signal: new AbortController().signal }, (e) => faults.push(e));
    return { events, faults, run };
  }

  it('a synchronous throw of a non-Error → agent_error handler_error with its string form', async () => {
    const { events, faults } = await outcome(() => {
      throw 'plain';
    });
    expect(events.at(-1)).toEqual({ event: 'agent_error', data: { reason: 'handler_error', message: 'plain' } });
    expect(faults).toEqual(['plain']);
  });

  it('returning undefined completes with {}; returning an object completes with it', async () => {
    expect((await outcome(() => undefined)).events.at(-1)).toEqual({ event: 'agent_completed', data: {} });
    expect((await outcome(async () => ({ n: 1 }))).events.at(-1)).toEqual({ event: 'agent_completed', data: { n: 1 } });
  });

  it('a handler that ended the run itself is left alone', async () => {
    const { events } = await outcome((_m, run) => {
      run.complete({ text: 'mine' });
      return 'ignored';
    });
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_completed']);
    expect(events.at(-1)?.data).toEqual({ text: 'mine' });
  });

  it('a handler that throws after ending the run is reported but emits nothing more', async () => {
    const { events, faults } = await outcome((_m, run) => {
      run.fail({ reason: 'own' });
      throw new Error('after');
    });
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_error']);
    expect(faults).toHaveLength(1);
  });

  it('returning with a tool open after async work → agent_error tool_calls_open listing the ids', async () => {
    const { events } = await outcome(async (_m, run) => {
      run.toolStarted('x');
      await Promise.resolve();
      run.toolStarted('y');
      return 'text';
    });
    expect(events.at(-1)).toEqual({ event: 'agent_error', data: { reason: 'tool_calls_open', openToolCalls: ['x', 'y'] } });
  });
});

describe('run handle: the streaming steady case skips the actor only where the machine allows it', () => {
  it('1000 deltas while thinking, then a tool call and the end: every event in order, grammar still enforced', () => {
    const { run, names } = recordedRun();
    for (let i = 0; i < 1000; i++) run.thinking({ delta: i });
    run.toolStarted('t1');
    run.thinking({ delta: 'inside a tool call' });
    expectOrderError(() => run.complete(), /open tool calls: t1/);
    run.toolCompleted('t1');
    run.complete();
    expect(names()).toEqual(['agent_started', ...Array(1000).fill('agent_thinking'), 'tool_executing', 'agent_thinking', 'tool_completed', 'agent_completed']);
    expectOrderError(() => run.thinking(), /ended/);
  });

  it('a machine whose thinking loop has an action still runs it on every delta (the shortcut is read off the definition)', () => {
    let steps = 0;
    const counting = agentRunMachine.provide({}) as AgentRunMachine;
    const variant = createMachine({
      ...counting.config,
      states: {
        ...counting.config.states,
        thinking: { ...counting.config.states!.thinking, on: { ...counting.config.states!.thinking!.on, 'run.thinking': { target: 'thinking', actions: () => void steps++ } } },
      },
    }) as unknown as AgentRunMachine;
    const run = startRun('r2', 'alice', () => {}, variant);
    for (let i = 0; i < 5; i++) run.thinking();
    // The first delta leaves `started`; the other four are thinking → thinking with an action.
    expect(steps).toBe(4);
  });
});

