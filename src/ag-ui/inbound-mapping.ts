/**
 * AG-UI → lockstep: what each accepted AG-UI event becomes on lockstep's run handle (the table
 * in docs/ag-ui.md "Inbound"). Pure: the event and the checker's facts in, run calls out.
 * Every event is kept — verbatim in `data.agUi` where lockstep has no field for it — so
 * {@link ./outbound-mapping.ts} gives the agent's sequence back (the only loss: a
 * TEXT_MESSAGE_CONTENT / TOOL_CALL_ARGS keeps its `delta` and ids, not its timestamp,
 * rawEvent or metadata; RUN_STARTED is lockstep's own `agent_started`).
 */
import type { AcceptedFacts } from './agui-grammar.js';
import type { AgUiEvent } from './event-types.js';
import type { RunHandle } from '../agent/run-handle.js';

/** One call on lockstep's run handle. */
export type RunCall =
  | { call: 'thinking'; data: unknown }
  | { call: 'text'; delta: string }
  | { call: 'toolStarted'; toolCallId: string; data: Record<string, unknown> }
  | { call: 'toolArgs'; toolCallId: string; delta: string }
  | { call: 'toolCompleted'; toolCallId: string; data: Record<string, unknown> }
  | { call: 'complete'; data: unknown }
  | { call: 'fail'; data: unknown };

/** The lockstep run calls for one accepted AG-UI event. */
export function agUiToRunCalls(event: AgUiEvent, facts: AcceptedFacts): RunCall[] {
  const str = (field: string) => event[field] as string;
  switch (event.type) {
    // lockstep's agent_started (emitted when the run began) stands for it.
    case 'RUN_STARTED':
      return [];
    case 'TEXT_MESSAGE_CONTENT':
      // With several text messages open at once the delta could not say whose it is: kept as data.
      return facts.soleOpenMessage ? [{ call: 'text', delta: str('delta') }] : [{ call: 'thinking', data: { agUi: event } }];
    case 'TOOL_CALL_START':
      return [{ call: 'toolStarted', toolCallId: str('toolCallId'), data: { tool: str('toolCallName'), agUi: event } }];
    case 'TOOL_CALL_ARGS':
      return [{ call: 'toolArgs', toolCallId: str('toolCallId'), delta: str('delta') }];
    case 'TOOL_CALL_RESULT':
      // A result for a call of an earlier run (a front-end tool answered) has no open call here.
      return facts.knownToolCall
        ? [{ call: 'toolCompleted', toolCallId: str('toolCallId'), data: { result: event.content, agUi: event } }]
        : [{ call: 'thinking', data: { agUi: event } }];
    case 'RUN_FINISHED':
      // A call whose arguments ended without a result in this run (a front-end tool the client
      // runs) is closed for lockstep's grammar, which completes no run with a call open.
      return [
        ...facts.awaitingResult.map((toolCallId): RunCall => ({ call: 'toolCompleted', toolCallId, data: { awaitingResult: true } })),
        { call: 'complete', data: { ...(event.result === undefined ? {} : { result: event.result }), agUi: event } },
      ];
    case 'RUN_ERROR':
      return [{ call: 'fail', data: { reason: 'agent_error', message: str('message'), ...(typeof event.code === 'string' ? { code: event.code } : {}), agUi: event } }];
    default:
      // TEXT_MESSAGE_START/END, TOOL_CALL_END (the call stays open until its result), STEP_*,
      // STATE_*, MESSAGES_SNAPSHOT, ACTIVITY_*, REASONING_*, SUBAGENT_*, *_CHUNK, CUSTOM, RAW.
      return [{ call: 'thinking', data: { agUi: event } }];
  }
}

/** Performs one call on the run handle (which checks lockstep's grammar and may throw LOCKSTEP_ERR_EVENT_ORDER). */
export function applyRunCall(run: RunHandle, call: RunCall): void {
  switch (call.call) {
    case 'thinking':
      return run.thinking(call.data);
    case 'text':
      return run.text(call.delta);
    case 'toolStarted':
      return run.toolStarted(call.toolCallId, call.data);
    case 'toolArgs':
      return run.toolArgs(call.toolCallId, call.delta);
    case 'toolCompleted':
      return run.toolCompleted(call.toolCallId, call.data);
    case 'complete':
      return run.complete(call.data);
    case 'fail':
      return run.fail(call.data);
  }
}
