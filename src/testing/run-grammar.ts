/**
 * I6, the run grammar, written independently of machines/agent-run.ts so that each checks
 * the other:
 *   agent_started (agent_thinking | text_delta | tool_executing(id) … tool_completed(id))* (agent_completed | agent_error)
 * with `tool_args_delta(id)` only while tool call `id` is open. Tool calls may overlap (several open at once, each id at most once at a time); agent_completed
 * needs every tool call closed; agent_error may end a run at any point after it started.
 * Approvals: `approval_requested(id)` only for an open tool call not already waiting, then
 * `approval_resolved(id)` once; while it waits, tool call `id` has no `tool_args_delta` and no
 * `tool_completed`.
 */
import type { AgentEventName } from '../protocol/frames.js';

/** One run event as a client sees it: its name and, for tool events, the tool call id. */
export interface RunEventRecord {
  event: AgentEventName;
  /** `toolCallId` for tool events. */
  toolCallId?: string | undefined;
}

/** The run grammar (I6) as an automaton written independently of the run machine: ask `refusal`, then `accept`. */
export class RunGrammar {
  #started = false;
  #ended = false;
  readonly #open = new Set<string>();
  readonly #waiting = new Set<string>();

  get ended(): boolean {
    return this.#ended;
  }

  /** Why `record` may not come next, or undefined when it may. */
  refusal(record: RunEventRecord): string | undefined {
    if (this.#ended) return 'the run already ended';
    if (!this.#started) return record.event === 'agent_started' ? undefined : 'a run begins with agent_started';
    switch (record.event) {
      case 'agent_started':
        return 'agent_started twice';
      case 'agent_thinking':
      case 'text_delta':
      case 'agent_error':
        return undefined;
      case 'tool_args_delta':
        if (this.#waiting.has(record.toolCallId ?? '')) return `tool call ${record.toolCallId} waits for approval`;
        return this.#open.has(record.toolCallId ?? '') ? undefined : `tool call ${record.toolCallId} is not open (its arguments cannot stream)`;
      case 'tool_executing':
        return this.#open.has(record.toolCallId ?? '') ? `tool call ${record.toolCallId} is already open` : undefined;
      case 'tool_completed':
        if (this.#waiting.has(record.toolCallId ?? '')) return `tool call ${record.toolCallId} waits for approval`;
        return this.#open.has(record.toolCallId ?? '') ? undefined : `tool call ${record.toolCallId} is not open`;
      case 'approval_requested':
        if (this.#waiting.has(record.toolCallId ?? '')) return `tool call ${record.toolCallId} already waits for approval`;
        return this.#open.has(record.toolCallId ?? '') ? undefined : `tool call ${record.toolCallId} is not open (nothing to approve)`;
      case 'approval_resolved':
        return this.#waiting.has(record.toolCallId ?? '') ? undefined : `no approval of tool call ${record.toolCallId} is pending`;
      case 'agent_completed':
        return this.#open.size > 0 ? `tool calls still open: ${[...this.#open].join(', ')}` : undefined;
    }
  }

  /** Applies an allowed record (call `refusal` first). */
  accept(record: RunEventRecord): void {
    if (record.event === 'agent_started') this.#started = true;
    if (record.event === 'tool_executing') this.#open.add(record.toolCallId ?? '');
    if (record.event === 'tool_completed') this.#open.delete(record.toolCallId ?? '');
    if (record.event === 'approval_requested') this.#waiting.add(record.toolCallId ?? '');
    if (record.event === 'approval_resolved') this.#waiting.delete(record.toolCallId ?? '');
    if (record.event === 'agent_completed' || record.event === 'agent_error') {
      this.#ended = true;
      this.#open.clear();
      this.#waiting.clear();
    }
  }
}

/**
 * Checks one run's events as a client saw them. `complete`: the run must also have ended.
 * Returns the violations (empty when the sequence is a word, or a prefix of one, of the grammar).
 */
export function checkRunGrammar(events: readonly RunEventRecord[], complete = false): string[] {
  const grammar = new RunGrammar();
  const violations: string[] = [];
  events.forEach((record, at) => {
    const refusal = grammar.refusal(record);
    if (refusal === undefined) grammar.accept(record);
    else violations.push(`${record.event}${record.toolCallId ? `(${record.toolCallId})` : ''} at ${at}: ${refusal}`);
  });
  if (complete && !grammar.ended) violations.push('the run never ended');
  return violations;
}
