/**
 * The API a real agent uses to report a run. Each call is checked against the run machine
 * first and appended to the user's stream only if the grammar allows it (invariant I6);
 * a refused call throws `LOCKSTEP_ERR_EVENT_ORDER` and nothing reaches a client.
 */
import { createActor, type Actor } from 'xstate';
import { agentRunMachine, type AgentRunEvent } from '../../machines/agent-run.js';
import { LockstepError } from '../protocol/errors.js';
import type { AgentEventName } from '../protocol/frames.js';

/**
 * Reports one run's events. Calls out of the run grammar's order throw
 * `LOCKSTEP_ERR_EVENT_ORDER` and nothing reaches a client.
 */
export interface RunHandle {
  /** `<connectionId>.<n>` for a message's run, `push.<uuid>` for `startRun`/`sendToUser`. */
  readonly runId: string;
  /** The user whose stream (every tab) receives the events. */
  readonly userId: string;
  /** True once `agent_completed` or `agent_error` was emitted. */
  readonly ended: boolean;
  /** Tool calls started and not yet completed, in start order. */
  readonly openToolCalls: readonly string[];
  /** Appends `agent_thinking` (allowed while no tool call is open, or between tool calls). */
  thinking(data?: unknown): void;
  /** Appends `tool_executing` for a new tool call id. */
  toolStarted(toolCallId: string, data?: Record<string, unknown>): void;
  /** Appends `tool_completed` for an open tool call id. */
  toolCompleted(toolCallId: string, data?: Record<string, unknown>): void;
  /** Appends `agent_completed` and ends the run; refused while a tool call is open. */
  complete(data?: unknown): void;
  /** Appends `agent_error` and ends the run; allowed at any point before the end. */
  fail(data?: unknown): void;
}

export type EmitAgentEvent = (event: AgentEventName, data: unknown) => void;

const EVENT_NAME: Record<AgentRunEvent['type'], AgentEventName> = {
  'run.thinking': 'agent_thinking',
  'run.toolStarted': 'tool_executing',
  'run.toolCompleted': 'tool_completed',
  'run.complete': 'agent_completed',
  'run.fail': 'agent_error',
};

class CheckedRun implements RunHandle {
  /** `<connectionId>.<n>` for a message's run, `push.<uuid>` for `startRun`/`sendToUser`. */
  readonly runId: string;
  /** The user whose stream (every tab) receives the events. */
  readonly userId: string;
  readonly #actor: Actor<typeof agentRunMachine>;
  readonly #emit: EmitAgentEvent;

  constructor(runId: string, userId: string, emit: EmitAgentEvent, machine: AgentRunMachine) {
    this.runId = runId;
    this.userId = userId;
    this.#emit = emit;
    this.#actor = createActor(machine, { input: { runId } });
    this.#actor.start();
    emit('agent_started', {});
  }

  get ended(): boolean {
    return this.#actor.getSnapshot().status === 'done';
  }

  get openToolCalls(): readonly string[] {
    return this.#actor.getSnapshot().context.openToolCalls;
  }

  /** Appends `agent_thinking` (allowed while no tool call is open, or between tool calls). */
  thinking(data: unknown = {}): void {
    this.#step({ type: 'run.thinking' }, data);
  }

  /** Appends `tool_executing` for a new tool call id. */
  toolStarted(toolCallId: string, data: Record<string, unknown> = {}): void {
    this.#step({ type: 'run.toolStarted', toolCallId }, { ...data, toolCallId });
  }

  /** Appends `tool_completed` for an open tool call id. */
  toolCompleted(toolCallId: string, data: Record<string, unknown> = {}): void {
    this.#step({ type: 'run.toolCompleted', toolCallId }, { ...data, toolCallId });
  }

  /** Appends `agent_completed` and ends the run; refused while a tool call is open. */
  complete(data: unknown = {}): void {
    this.#step({ type: 'run.complete' }, data);
  }

  /** Appends `agent_error` and ends the run; allowed at any point before the end. */
  fail(data: unknown = {}): void {
    this.#step({ type: 'run.fail' }, data);
  }

  #step(event: AgentRunEvent, data: unknown): void {
    const snapshot = this.#actor.getSnapshot();
    if (!snapshot.can(event)) {
      const state = snapshot.status === 'done' ? `${String(snapshot.value)} (ended)` : String(snapshot.value);
      const call = 'toolCallId' in event ? `(${event.toolCallId})` : '';
      const open = snapshot.context.openToolCalls;
      throw new LockstepError(
        'LOCKSTEP_ERR_EVENT_ORDER',
        `Run ${this.runId} cannot emit ${EVENT_NAME[event.type]}${call} in state ${state}` +
          (open.length > 0 ? `; open tool calls: ${open.join(', ')}` : ''),
      );
    }
    this.#actor.send(event);
    this.#emit(EVENT_NAME[event.type], data);
  }
}

/** The run machine, or a variant of it (the mutation suite checks that I6 catches broken ones). */
export type AgentRunMachine = typeof agentRunMachine;

/** Starts a run: `agent_started` is emitted before this returns. */
export function startRun(runId: string, userId: string, emit: EmitAgentEvent, machine: AgentRunMachine = agentRunMachine): RunHandle {
  return new CheckedRun(runId, userId, emit, machine);
}
