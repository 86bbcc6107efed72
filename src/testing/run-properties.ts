/**
 * I6 as a property: random calls on a run handle (thinking, tool start/complete with a few
 * ids, complete, fail), optionally ended by the handler contract (return or throw). Whatever
 * the calls, the emitted events form a word of the run grammar, a call is refused exactly when
 * the grammar refuses it, and a refused call emits nothing.
 */
import fc from 'fast-check';
import { runHandler } from '../agent/handler.js';
import { startRun, type AgentRunMachine, type RunHandle } from '../agent/run-handle.js';
import { LockstepError } from '../protocol/errors.js';
import type { AgentEventName } from '../protocol/frames.js';
import { RunGrammar, type RunEventRecord } from './run-grammar.js';

export type RunCall =
  | { call: 'thinking' }
  | { call: 'toolStarted'; id: string }
  | { call: 'toolCompleted'; id: string }
  | { call: 'complete' }
  | { call: 'fail' };

const toolId = fc.constantFrom('t1', 't2', 't3');

export const runCall: fc.Arbitrary<RunCall> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ call: 'thinking' } as const) },
  { weight: 3, arbitrary: toolId.map((id) => ({ call: 'toolStarted', id }) as const) },
  { weight: 3, arbitrary: toolId.map((id) => ({ call: 'toolCompleted', id }) as const) },
  { weight: 1, arbitrary: fc.constant({ call: 'complete' } as const) },
  { weight: 1, arbitrary: fc.constant({ call: 'fail' } as const) },
);

const RECORD_OF: Record<RunCall['call'], AgentEventName> = {
  thinking: 'agent_thinking',
  toolStarted: 'tool_executing',
  toolCompleted: 'tool_completed',
  complete: 'agent_completed',
  fail: 'agent_error',
};

function perform(run: RunHandle, call: RunCall): void {
  switch (call.call) {
    case 'thinking':
      return run.thinking();
    case 'toolStarted':
      return run.toolStarted(call.id);
    case 'toolCompleted':
      return run.toolCompleted(call.id);
    case 'complete':
      return run.complete();
    case 'fail':
      return run.fail();
  }
}

export interface RunPropertyOptions {
  machine?: AgentRunMachine;
}

/** The property: see the file comment. How the handler ends is drawn too. */
export function runGrammarProperty(options: RunPropertyOptions = {}) {
  const ending = fc.constantFrom('none', 'return', 'throw');
  return fc.asyncProperty(fc.array(runCall, { maxLength: 30 }), ending, async (calls, end) => {
    const emitted: RunEventRecord[] = [];
    const emit = (event: AgentEventName, data: unknown) =>
      emitted.push({ event, toolCallId: (data as { toolCallId?: string } | undefined)?.toolCallId });
    const reference = new RunGrammar();
    reference.accept({ event: 'agent_started' });
    const problems: string[] = [];
    const body = (run: RunHandle) => {
      for (const call of calls) {
        const record: RunEventRecord = { event: RECORD_OF[call.call], toolCallId: 'id' in call ? call.id : undefined };
        const expectedRefusal = reference.refusal(record);
        const before = emitted.length;
        let refused: unknown;
        try {
          perform(run, call);
        } catch (error) {
          refused = error;
        }
        if (refused !== undefined && !(refused instanceof LockstepError && refused.code === 'LOCKSTEP_ERR_EVENT_ORDER')) {
          problems.push(`${call.call} threw ${String(refused)}`);
        }
        if (expectedRefusal === undefined && refused !== undefined) problems.push(`${call.call}${'id' in call ? `(${call.id})` : ''} refused, the grammar allows it`);
        if (expectedRefusal !== undefined && refused === undefined) problems.push(`${call.call}${'id' in call ? `(${call.id})` : ''} accepted: ${expectedRefusal}`);
        if (refused !== undefined && emitted.length !== before) problems.push(`${call.call} was refused but emitted an event`);
        if (refused === undefined) reference.accept(record);
      }
    };
    const run = startRun('r1', 'alice', emit, options.machine);
    if (end === 'none') body(run);
    else {
      await runHandler(
        () => {
          body(run);
          if (end === 'throw') throw new Error('handler fault');
          return 'done';
        },
        { id: 'm1', text: 'hi' },
        run,
        { userId: 'alice', connectionId: 'c' },
        () => {},
      );
    }
    // Whatever happened, what a client would see is a word (or, with no ending, a prefix).
    const check = new RunGrammar();
    for (const [at, record] of emitted.entries()) {
      const refusal = check.refusal(record);
      if (refusal !== undefined) problems.push(`emitted ${record.event}${record.toolCallId ? `(${record.toolCallId})` : ''} at ${at}: ${refusal}`);
      else check.accept(record);
    }
    if (end !== 'none' && !check.ended) problems.push('the handler returned but the run never ended');
    if (problems.length > 0) {
      throw new Error(`I6: ${problems.join('; ')}\nemitted: ${emitted.map((r) => r.event + (r.toolCallId ? `(${r.toolCallId})` : '')).join(' ')}`);
    }
  });
}
