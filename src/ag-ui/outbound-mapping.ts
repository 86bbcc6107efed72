/**
 * lockstep → AG-UI: the events an AG-UI front end receives for one lockstep run (the table in
 * docs/ag-ui.md "Outbound"). The inverse of ./inbound-mapping.ts: an event that came from an
 * AG-UI agent carries it in `data.agUi` and is given back verbatim, so an AG-UI agent behind
 * lockstep reaches an AG-UI front end as it sent it (docs/ag-ui.md states the exceptions);
 * an event of a native lockstep handler is translated (its text deltas become one assistant
 * message, its thinking a CUSTOM event, its tool results JSON text).
 *
 * Pure apart from its own small state (the text messages and tool calls open on the AG-UI
 * side): one mapper per run, fed the run's events in seq order.
 */
import type { AgentEventName } from '../protocol/frames.js';
import type { AgUiEvent } from './event-types.js';

/** One lockstep event of the run, as a client receives it. */
export interface LockstepRunEvent {
  event: AgentEventName;
  data: unknown;
}

/** The CUSTOM event name a native `agent_thinking` becomes; `value` is its data. */
export const THINKING_EVENT_NAME = 'lockstep.agent_thinking';
/** The CUSTOM event names an approval request and its resolution travel as (their `value` is the lockstep event's data). */
export const APPROVAL_REQUESTED_EVENT_NAME = 'lockstep.approval_requested';
export const APPROVAL_RESOLVED_EVENT_NAME = 'lockstep.approval_resolved';

const record = (data: unknown): Record<string, unknown> => (typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {});

function carried(data: Record<string, unknown>): AgUiEvent | undefined {
  const agUi = record(data.agUi);
  return typeof agUi.type === 'string' ? (agUi as AgUiEvent) : undefined;
}

/** Maps one lockstep run's events, in seq order, to AG-UI events: `map(event)` for each. */
export class LockstepToAgUi {
  readonly threadId: string;
  readonly runId: string;
  /** Text messages the AG-UI side has open (from carried starts and ends), in start order. */
  readonly #openMessages: string[] = [];
  /** The assistant message this mapper opened for a native handler's text deltas. */
  #ownMessage: string | undefined;
  #ownMessages = 0;
  /** Tool calls whose TOOL_CALL_END went out. */
  readonly #endedToolCalls = new Set<string>();

  /** `threadId` and `runId`: the AG-UI run's (RUN_STARTED, RUN_FINISHED, and the ids this mapper makes). */
  constructor(ids: { threadId: string; runId: string }) {
    this.threadId = ids.threadId;
    this.runId = ids.runId;
  }

  /** The AG-UI events for the run's next lockstep event. */
  map({ event, data: raw }: LockstepRunEvent): AgUiEvent[] {
    const data = record(raw);
    const agUi = carried(data);
    switch (event) {
      case 'agent_started':
        return [{ type: 'RUN_STARTED', threadId: this.threadId, runId: this.runId }];
      case 'agent_thinking':
        if (agUi !== undefined) {
          this.#track(agUi);
          return [agUi];
        }
        return [...this.#closeOwn(), { type: 'CUSTOM', name: THINKING_EVENT_NAME, value: raw }];
      case 'text_delta': {
        const delta = typeof data.delta === 'string' ? data.delta : '';
        const open = this.#openMessages.at(-1);
        if (open !== undefined) return [{ type: 'TEXT_MESSAGE_CONTENT', messageId: open, delta }];
        const start: AgUiEvent[] = [];
        if (this.#ownMessage === undefined) {
          this.#ownMessages += 1;
          this.#ownMessage = `${this.runId}.text.${this.#ownMessages}`;
          start.push({ type: 'TEXT_MESSAGE_START', messageId: this.#ownMessage, role: 'assistant' });
        }
        return [...start, { type: 'TEXT_MESSAGE_CONTENT', messageId: this.#ownMessage, delta }];
      }
      case 'tool_executing': {
        const toolCallId = String(data.toolCallId);
        this.#endedToolCalls.delete(toolCallId);
        return [...this.#closeOwn(), agUi ?? { type: 'TOOL_CALL_START', toolCallId, toolCallName: typeof data.tool === 'string' ? data.tool : 'tool' }];
      }
      case 'tool_args_delta':
        return [{ type: 'TOOL_CALL_ARGS', toolCallId: String(data.toolCallId), delta: typeof data.delta === 'string' ? data.delta : '' }];
      case 'tool_completed': {
        // Closed for lockstep at RUN_FINISHED, still awaiting its result on the AG-UI side.
        if (data.awaitingResult === true) return [];
        const toolCallId = String(data.toolCallId);
        const end: AgUiEvent[] = this.#endedToolCalls.has(toolCallId) ? [] : [{ type: 'TOOL_CALL_END', toolCallId }];
        this.#endedToolCalls.delete(toolCallId);
        const { toolCallId: _id, ...output } = data;
        return [...end, agUi ?? { type: 'TOOL_CALL_RESULT', messageId: `${this.runId}.${toolCallId}.result`, toolCallId, content: JSON.stringify(output), role: 'tool' }];
      }
      case 'agent_completed':
        // The agent's RUN_FINISHED names the run lockstep gave it: the front end sees its own run's ids.
        return [...this.#closeOwn(), agUi === undefined ? { type: 'RUN_FINISHED', threadId: this.threadId, runId: this.runId, result: raw } : { ...agUi, threadId: this.threadId, runId: this.runId }];
      case 'agent_error': {
        const message = [data.detail, data.message, data.reason].find((v) => typeof v === 'string') ?? 'agent_error';
        return [agUi ?? { type: 'RUN_ERROR', message, ...(typeof data.reason === 'string' ? { code: data.reason } : {}) }];
      }
      // AG-UI has no approval events of its own: they travel as CUSTOM, named after lockstep's.
      case 'approval_requested':
        return [{ type: 'CUSTOM', name: APPROVAL_REQUESTED_EVENT_NAME, value: raw }];
      case 'approval_resolved':
        return [{ type: 'CUSTOM', name: APPROVAL_RESOLVED_EVENT_NAME, value: raw }];
    }
  }

  #track(event: AgUiEvent): void {
    if (event.type === 'TEXT_MESSAGE_START') this.#openMessages.push(String(event.messageId));
    else if (event.type === 'TEXT_MESSAGE_END') {
      const at = this.#openMessages.lastIndexOf(String(event.messageId));
      if (at !== -1) this.#openMessages.splice(at, 1);
    } else if (event.type === 'TOOL_CALL_END') this.#endedToolCalls.add(String(event.toolCallId));
  }

  /** Ends the message this mapper opened, before anything that is not more of its text. */
  #closeOwn(): AgUiEvent[] {
    if (this.#ownMessage === undefined) return [];
    const messageId = this.#ownMessage;
    this.#ownMessage = undefined;
    return [{ type: 'TEXT_MESSAGE_END', messageId }];
  }
}
