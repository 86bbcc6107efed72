/**
 * One actor per agent run, enforcing the run grammar (invariant I6):
 *
 *   agent_started ( agent_thinking | text_delta | tool_executing(id) … tool_completed(id) )*
 *                 ( agent_completed | agent_error )
 *
 * where `tool_args_delta(id)` may appear only while tool call `id` is open (between its
 * `tool_executing` and its `tool_completed`), and `agent_thinking` / `text_delta` anywhere
 * between the start and the end. Several tool calls may be open at once, matched by id. `agent_completed` is refused while a
 * tool call is open; `agent_error` is always allowed before the end (a crashing tool must be
 * able to end its run). Nothing is accepted after the end. The machine only decides; the run
 * handle asks `snapshot.can(event)` before appending, so a refused event never reaches a log.
 *
 * Approvals (a human in the loop): an open tool call may ask once at a time,
 * `approval_requested(id)`, and is then held until `approval_resolved(id)` (the user's answer,
 * or its deadline): while held, neither its arguments nor its completion may be emitted. The
 * run waits in `awaitingApproval` while any approval is pending; other tool calls and the
 * answer's text go on. `agent_error` still ends the run at any point (a cancel, a deadline).
 */
import { assign, setup } from 'xstate';

/** Input of {@link agentRunMachine}: the run it checks. */
export interface AgentRunInput { runId: string }
/**
 * The run machine's context: its id, the tool calls started and not yet completed, and those of
 * them waiting for the user's approval.
 */
export interface AgentRunContext { runId: string; openToolCalls: string[]; pendingApprovals: string[] }

/** What a run handle asks the run machine; an event the current state does not accept is refused. */
export type AgentRunEvent =
  | { type: 'run.thinking' }
  /** A piece of the answer's text (`text_delta`). */
  | { type: 'run.textDelta' }
  /** A piece of an open tool call's arguments (`tool_args_delta`). */
  | { type: 'run.toolArgsDelta'; toolCallId: string }
  | { type: 'run.toolStarted'; toolCallId: string }
  | { type: 'run.toolCompleted'; toolCallId: string }
  /** An open tool call asks the user before it runs (`approval_requested`). */
  | { type: 'run.approvalRequested'; toolCallId: string }
  /** The user answered, or the approval's deadline passed (`approval_resolved`). */
  | { type: 'run.approvalResolved'; toolCallId: string }
  | { type: 'run.complete' }
  | { type: 'run.fail' };

/**
 * The run grammar (invariant I6) as a machine, one actor per run behind the run handle:
 * `started` → (`thinking` | `toolsOpen` | `awaitingApproval`)* → `completed` | `failed`. See docs/lifecycle.md.
 */
export const agentRunMachine = setup({
  types: {
    context: {} as AgentRunContext,
    input: {} as AgentRunInput,
    events: {} as AgentRunEvent,
  },
  guards: {
    isNewToolCall: ({ context, event }) =>
      event.type === 'run.toolStarted' && !context.openToolCalls.includes(event.toolCallId),
    // A tool call held for approval cannot complete until it is answered.
    isOpenToolCall: ({ context, event }) =>
      event.type === 'run.toolCompleted' && context.openToolCalls.includes(event.toolCallId) &&
      !context.pendingApprovals.includes(event.toolCallId),
    // Back to the same state without actions: while it holds, a delta leaves the run as it is, so the
    // run handle answers repeated deltas of one tool call without stepping the actor.
    isOpenToolCallArgs: ({ context, event }) =>
      event.type === 'run.toolArgsDelta' && context.openToolCalls.includes(event.toolCallId) &&
      !context.pendingApprovals.includes(event.toolCallId),
    // One request at a time per tool call, and only for an open one (its arguments are known).
    canRequestApproval: ({ context, event }) =>
      event.type === 'run.approvalRequested' && context.openToolCalls.includes(event.toolCallId) &&
      !context.pendingApprovals.includes(event.toolCallId),
    isPendingApproval: ({ context, event }) =>
      event.type === 'run.approvalResolved' && context.pendingApprovals.includes(event.toolCallId),
    resolvesLastApproval: ({ context, event }) =>
      event.type === 'run.approvalResolved' &&
      context.pendingApprovals.length === 1 &&
      context.pendingApprovals[0] === event.toolCallId,
    closesLastToolCall: ({ context, event }) =>
      event.type === 'run.toolCompleted' &&
      context.openToolCalls.length === 1 &&
      context.openToolCalls[0] === event.toolCallId,
  },
  actions: {
    openToolCall: assign({
      openToolCalls: ({ context, event }) =>
        event.type === 'run.toolStarted' ? [...context.openToolCalls, event.toolCallId] : context.openToolCalls,
    }),
    closeToolCall: assign({
      openToolCalls: ({ context, event }) =>
        event.type === 'run.toolCompleted'
          ? context.openToolCalls.filter((id) => id !== event.toolCallId)
          : context.openToolCalls,
    }),
    holdForApproval: assign({
      pendingApprovals: ({ context, event }) =>
        event.type === 'run.approvalRequested' ? [...context.pendingApprovals, event.toolCallId] : context.pendingApprovals,
    }),
    releaseApproval: assign({
      pendingApprovals: ({ context, event }) =>
        event.type === 'run.approvalResolved'
          ? context.pendingApprovals.filter((id) => id !== event.toolCallId)
          : context.pendingApprovals,
    }),
  },
}).createMachine({
  id: 'agentRun',
  context: ({ input }) => ({ runId: input.runId, openToolCalls: [], pendingApprovals: [] }),
  // The run exists once `agent_started` is in the log.
  initial: 'started',
  states: {
    started: {
      on: {
        'run.thinking': 'thinking',
        'run.textDelta': 'thinking',
        'run.toolStarted': { guard: 'isNewToolCall', target: 'toolsOpen', actions: 'openToolCall' },
        'run.complete': 'completed',
        'run.fail': 'failed',
      },
    },
    thinking: {
      on: {
        'run.thinking': 'thinking',
        // Every streamed text delta: allowed, and changes nothing (the run handle's inert step).
        'run.textDelta': 'thinking',
        'run.toolStarted': { guard: 'isNewToolCall', target: 'toolsOpen', actions: 'openToolCall' },
        'run.complete': 'completed',
        'run.fail': 'failed',
      },
    },
    toolsOpen: {
      on: {
        'run.thinking': 'toolsOpen',
        'run.textDelta': 'toolsOpen',
        // No tool_args_delta elsewhere: only an open tool call has arguments still streaming.
        'run.toolArgsDelta': { guard: 'isOpenToolCallArgs', target: 'toolsOpen' },
        'run.toolStarted': { guard: 'isNewToolCall', target: 'toolsOpen', actions: 'openToolCall' },
        'run.toolCompleted': [
          { guard: 'closesLastToolCall', target: 'thinking', actions: 'closeToolCall' },
          { guard: 'isOpenToolCall', target: 'toolsOpen', actions: 'closeToolCall' },
        ],
        'run.approvalRequested': { guard: 'canRequestApproval', target: 'awaitingApproval', actions: 'holdForApproval' },
        // No 'run.complete' here: completing with a tool call open is refused.
        'run.fail': { target: 'failed', actions: assign({ openToolCalls: [] }) },
      },
    },
    // Tool calls are open and at least one waits for the user's answer (or its deadline): the
    // held ones can neither stream arguments nor complete; everything else goes on.
    awaitingApproval: {
      on: {
        'run.thinking': 'awaitingApproval',
        'run.textDelta': 'awaitingApproval',
        'run.toolArgsDelta': { guard: 'isOpenToolCallArgs', target: 'awaitingApproval' },
        'run.toolStarted': { guard: 'isNewToolCall', target: 'awaitingApproval', actions: 'openToolCall' },
        // Never the last open call: the held one is still open.
        'run.toolCompleted': { guard: 'isOpenToolCall', target: 'awaitingApproval', actions: 'closeToolCall' },
        'run.approvalRequested': { guard: 'canRequestApproval', target: 'awaitingApproval', actions: 'holdForApproval' },
        'run.approvalResolved': [
          { guard: 'resolvesLastApproval', target: 'toolsOpen', actions: 'releaseApproval' },
          { guard: 'isPendingApproval', target: 'awaitingApproval', actions: 'releaseApproval' },
        ],
        'run.fail': { target: 'failed', actions: assign({ openToolCalls: [], pendingApprovals: [] }) },
      },
    },
    completed: { type: 'final' },
    failed: { type: 'final' },
  },
});
