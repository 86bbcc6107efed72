/**
 * The API a real agent uses to report a run. Each call is checked against the run machine
 * first and appended to the user's stream only if the grammar allows it (invariant I6);
 * a refused call throws `LOCKSTEP_ERR_EVENT_ORDER` and nothing reaches a client.
 */
import { createActor, type SnapshotFrom } from 'xstate';
import { MachineRunner, type MachineRef } from '../runtime/machine-runner.js';
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
  /** The thread the run belongs to (a message's `threadId`), also in `agent_started` `data.threadId`. */
  readonly threadId: string | undefined;
  /** True once `agent_completed` or `agent_error` was emitted. */
  readonly ended: boolean;
  /** Tool calls started and not yet completed, in start order. */
  readonly openToolCalls: readonly string[];
  /** Appends `agent_thinking` (allowed while no tool call is open, or between tool calls). */
  thinking(data?: unknown): void;
  /**
   * Appends `text_delta` `{ delta }`: the next piece of the answer's text (allowed anywhere
   * between the start and the end). A client assembles the answer by concatenating the deltas
   * of the run in seq order; a resume hands it the missed ones coalesced (docs/protocol.md).
   */
  text(delta: string): void;
  /** Appends `tool_args_delta` `{ toolCallId, delta }`: the next piece of an open tool call's arguments. */
  toolArgs(toolCallId: string, delta: string): void;
  /** Appends `tool_executing` for a new tool call id. */
  toolStarted(toolCallId: string, data?: Record<string, unknown>): void;
  /** Appends `tool_completed` for an open tool call id. */
  toolCompleted(toolCallId: string, data?: Record<string, unknown>): void;
  /**
   * Asks the user before open tool call `toolCallId` runs: appends `approval_requested`
   * `{ ...request, toolCallId }` (e.g. `request` = `{ tool, args }`) and resolves with the first
   * answer from any tab of the user (an `approve` frame), or `approved: false` with `reason`
   * `"timeout"` once `approvalTimeoutMs` passed, or `"run_ended"` if the run ends first (a cancel,
   * a deadline). Until then the tool call can neither stream arguments nor complete. Throws
   * `LOCKSTEP_ERR_EVENT_ORDER` (like every other call) when the tool call is not open or already asks.
   */
  requestApproval(toolCallId: string, request?: Record<string, unknown>): Promise<ApprovalAnswer>;
  /** Appends `agent_completed` and ends the run; refused while a tool call is open. */
  complete(data?: unknown): void;
  /** Appends `agent_error` and ends the run; allowed at any point before the end. */
  fail(data?: unknown): void;
}

/**
 * How an approval request was answered. `reason`: `"user"` (an `approve` frame; `data` is what it
 * carried), `"timeout"` (no answer within `approvalTimeoutMs`), `"run_ended"` (the run ended
 * while it waited: nobody can answer any more).
 */
export interface ApprovalAnswer {
  approved: boolean;
  reason: 'user' | 'timeout' | 'run_ended';
  data?: unknown;
}

/** What the server watches of a run: its approval requests (their deadlines) and its end. */
export interface RunObserver {
  /** Each emitted event, after it was appended (the run's idle deadline moves). */
  emitted?(): void;
  approvalRequested?(toolCallId: string): void;
  /** The run ended (`agent_completed` or `agent_error`), however it did. */
  ended?(): void;
}

export type EmitAgentEvent = (event: AgentEventName, data: unknown) => void;

const EVENT_NAME: Record<AgentRunEvent['type'], AgentEventName> = {
  'run.thinking': 'agent_thinking',
  'run.textDelta': 'text_delta',
  'run.toolArgsDelta': 'tool_args_delta',
  'run.toolStarted': 'tool_executing',
  'run.toolCompleted': 'tool_completed',
  'run.approvalRequested': 'approval_requested',
  'run.approvalResolved': 'approval_resolved',
  'run.complete': 'agent_completed',
  'run.fail': 'agent_error',
};

type RunSnapshot = SnapshotFrom<typeof agentRunMachine>;

/**
 * Every run starts in the machine's initial state, so its snapshot is computed once per
 * machine and shared (snapshots are immutable) until the run needs an actor of its own.
 */
const initialSnapshots = new WeakMap<AgentRunMachine, RunSnapshot>();
function initialSnapshotOf(machine: AgentRunMachine): RunSnapshot {
  let snapshot = initialSnapshots.get(machine);
  if (snapshot === undefined) {
    snapshot = createActor(machine, { input: { runId: '' } }).getSnapshot();
    initialSnapshots.set(machine, snapshot);
  }
  return snapshot;
}

/**
 * The final state `event` takes `snapshot` to in one transition that runs no actions (none on
 * the transition, no exit actions on the states left, no entry actions on the final state), or
 * undefined when it goes anywhere else or has actions to run: then the run needs its actor.
 */
function finalStateAfter(snapshot: RunSnapshot, event: AgentRunEvent): string | undefined {
  const [transition, ...others] = snapshot.machine.getTransitionData(snapshot, event);
  const target = transition?.target?.[0];
  if (others.length > 0 || transition?.actions.length !== 0 || transition.target?.length !== 1) return undefined;
  if (target?.type !== 'final' || target.entry.length > 0) return undefined;
  if (snapshot._nodes.some((node) => node.exit.length > 0)) return undefined;
  return target.key;
}

/**
 * What the shared initial snapshot answers to an event whose transitions have no guard —
 * allowed or not, and the final state it ends in — is the same for every run: computed once
 * per snapshot and event type (a message's run asks it twice: `agent_started` is already in,
 * then `agent_completed`). Guarded events are asked each time (undefined here).
 */
const initialAnswers = new WeakMap<RunSnapshot, Map<string, { allowed: boolean; endsIn: string | undefined }>>();
function initialAnswer(snapshot: RunSnapshot, event: AgentRunEvent): { allowed: boolean; endsIn: string | undefined } | undefined {
  let known = initialAnswers.get(snapshot);
  if (known === undefined) {
    known = new Map();
    initialAnswers.set(snapshot, known);
  }
  let answer = known.get(event.type);
  if (answer === undefined) {
    const guarded = snapshot._nodes.some((node) => (node.on[event.type] ?? []).some((transition) => transition.guard !== undefined));
    if (guarded) return undefined;
    const allowed = snapshot.can(event);
    answer = { allowed, endsIn: allowed ? finalStateAfter(snapshot, event) : undefined };
    known.set(event.type, answer);
  }
  return answer;
}

/**
 * How `event` moves `snapshot`, from the machine's definition alone: `inert` when it leaves the
 * snapshot exactly as it is — one transition with no guard and no actions, to no target or back
 * to the same atomic state, which has no entry, exit, delay or invocation (e.g. `run.thinking`
 * or `run.textDelta` in `thinking`: every streamed delta); `inertIfAllowed` when the same holds
 * but a guard decides whether it is taken at all (e.g. `run.toolArgsDelta` in `toolsOpen`: only
 * for an open tool call); `steps` otherwise. Neither inert kind needs a step of the actor: the
 * machine's answer is known from its definition (and, for a guard, from asking the unchanged
 * snapshot once). Computed once per machine, state and event type, from the machine given (a
 * variant answers for itself).
 */
type StepShape = 'inert' | 'inertIfAllowed' | 'steps';
const stepShapes = new WeakMap<AgentRunMachine, Map<string, StepShape>>();
function stepShape(snapshot: RunSnapshot, event: AgentRunEvent): StepShape {
  if (typeof snapshot.value !== 'string' || snapshot.status !== 'active') return 'steps';
  let known = stepShapes.get(snapshot.machine);
  if (known === undefined) {
    known = new Map();
    stepShapes.set(snapshot.machine, known);
  }
  const key = `${snapshot.value}\u0000${event.type}`;
  let shape = known.get(key);
  if (shape === undefined) {
    const node = snapshot._nodes.at(-1);
    // Every candidate transition of the state for this event type, whichever guard holds.
    const candidates = node?.on[event.type] ?? [];
    const [transition, ...others] = candidates;
    const target = transition?.target;
    const unchanged =
      transition !== undefined && others.length === 0 && transition.actions.length === 0 &&
      (target === undefined || (target.length === 1 && target[0] === node)) &&
      node !== undefined && node.entry.length === 0 && node.exit.length === 0 && node.after.length === 0 && node.invoke.length === 0;
    shape = !unchanged ? 'steps' : transition.guard === undefined ? 'inert' : 'inertIfAllowed';
    known.set(key, shape);
  }
  return shape;
}

/**
 * The application's data of a tool event with its tool call id. A spread, although a spread-first
 * literal is slow on Node 20 (eslint.config.js): the data may be parsed JSON with an own
 * `__proto__` key, which a spread keeps as a field and Object.assign would make the prototype.
 * Once per tool call, not per delta.
 */
function withToolCallId(data: Record<string, unknown>, toolCallId: string): Record<string, unknown> {
  // eslint-disable-next-line no-restricted-syntax
  return { ...data, toolCallId };
}

/**
 * A run handle checked by the run machine. The actor is created when the run first leaves
 * its initial state for a state that is not final: a run that ends in one step (the handler
 * answered at once, or failed) is checked against the machine's shared initial snapshot
 * instead, which saves creating an actor per message (about 15 µs, measured in bench/).
 */
class CheckedRun implements ServerRunHandle {
  /** `<connectionId>.<n>` for a message's run, `push.<uuid>` for `startRun`/`sendToUser`. */
  readonly runId: string;
  /** The user whose stream (every tab) receives the events. */
  readonly userId: string;
  readonly threadId: string | undefined;
  readonly #machine: AgentRunMachine;
  // A MachineRunner: the run machine has no children, so it needs no actor system (runtime/machine-runner.ts).
  #actor: MachineRef<typeof agentRunMachine> | undefined;
  /** The final state of a run that ended from its initial state in one step, without an actor. */
  #endedIn: string | undefined;
  readonly #emit: EmitAgentEvent;
  readonly #observer: RunObserver | undefined;
  /** The answers awaited by `requestApproval`, by tool call id; made by the first request (most runs ask none). */
  #approvals: Map<string, (answer: ApprovalAnswer) => void> | undefined = undefined;
  /**
   * The last inert step taken (its snapshot, event type and tool call id): the snapshot does not
   * change under an inert step, so the machine's answer holds for every repeat of the event
   * until the actor steps — a stream of deltas costs one look-up (and, for a tool call's
   * arguments, one guard check) per burst, then a comparison per delta.
   */
  #inert: { snapshot: RunSnapshot; type: AgentRunEvent['type']; toolCallId: string | undefined } | undefined;

  constructor(runId: string, userId: string, emit: EmitAgentEvent, machine: AgentRunMachine, options: RunOptions) {
    this.runId = runId;
    this.userId = userId;
    this.threadId = options.threadId;
    this.#observer = options.observer;
    // The observer hears of every emission after the append: one callback, not a wrapper per event.
    this.#emit = emit;
    this.#machine = machine;
    emit('agent_started', options.threadId === undefined ? {} : { threadId: options.threadId });
  }

  get ended(): boolean {
    return this.#endedIn !== undefined || this.#actor?.getSnapshot().status === 'done';
  }

  get openToolCalls(): readonly string[] {
    return this.#actor?.getSnapshot().context.openToolCalls ?? [];
  }

  /** Tool calls waiting for the user's approval, in request order. */
  get pendingApprovals(): readonly string[] {
    return this.#actor?.getSnapshot().context.pendingApprovals ?? [];
  }

  /** Appends `agent_thinking` (allowed while no tool call is open, or between tool calls). */
  thinking(data: unknown = {}): void {
    this.#step({ type: 'run.thinking' }, data);
  }

  /** Appends `text_delta` `{ delta }` (allowed anywhere between the start and the end). */
  text(delta: string): void {
    checkDelta('text', delta);
    this.#step({ type: 'run.textDelta' }, { delta });
  }

  /** Appends `tool_args_delta` `{ toolCallId, delta }` for an open tool call. */
  toolArgs(toolCallId: string, delta: string): void {
    checkDelta('toolArgs', delta);
    this.#step({ type: 'run.toolArgsDelta', toolCallId }, { toolCallId, delta });
  }

  /** Appends `tool_executing` for a new tool call id. */
  toolStarted(toolCallId: string, data: Record<string, unknown> = {}): void {
    this.#step({ type: 'run.toolStarted', toolCallId }, withToolCallId(data, toolCallId));
  }

  /** Appends `tool_completed` for an open tool call id. */
  toolCompleted(toolCallId: string, data: Record<string, unknown> = {}): void {
    this.#step({ type: 'run.toolCompleted', toolCallId }, withToolCallId(data, toolCallId));
  }

  requestApproval(toolCallId: string, request: Record<string, unknown> = {}): Promise<ApprovalAnswer> {
    this.#step({ type: 'run.approvalRequested', toolCallId }, withToolCallId(request, toolCallId));
    const answered = new Promise<ApprovalAnswer>((resolve) => (this.#approvals ??= new Map()).set(toolCallId, resolve));
    this.#observer?.approvalRequested?.(toolCallId);
    return answered;
  }

  /**
   * The server's side of an approval: appends `approval_resolved` `{ toolCallId, approved,
   * reason, data? }` and hands the answer to `requestApproval`'s caller. False (and nothing
   * appended) when `toolCallId` waits for no answer: answered already, never asked, or the run ended.
   */
  resolveApproval(toolCallId: string, answer: ApprovalAnswer): boolean {
    const resolve = this.#approvals?.get(toolCallId);
    if (resolve === undefined || this.ended) return false;
    this.#approvals!.delete(toolCallId);
    this.#step({ type: 'run.approvalResolved', toolCallId }, answer.data === undefined
      ? { toolCallId, approved: answer.approved, reason: answer.reason }
      : { toolCallId, approved: answer.approved, reason: answer.reason, data: answer.data });
    resolve(answer);
    return true;
  }

  /** Appends `agent_completed` and ends the run; refused while a tool call is open. */
  complete(data: unknown = {}): void {
    this.#step({ type: 'run.complete' }, data);
    this.#afterEnd();
  }

  /** Appends `agent_error` and ends the run; allowed at any point before the end. */
  fail(data: unknown = {}): void {
    this.#step({ type: 'run.fail' }, data);
    this.#afterEnd();
  }

  /** Nobody can answer a pending approval of an ended run: its callers learn it now. */
  #afterEnd(): void {
    const approvals = this.#approvals;
    this.#approvals = undefined;
    if (approvals !== undefined) for (const resolve of approvals.values()) resolve({ approved: false, reason: 'run_ended' });
    this.#observer?.ended?.();
  }

  #step(event: AgentRunEvent, data: unknown): void {
    const snapshot = this.#actor?.getSnapshot() ?? initialSnapshotOf(this.#machine);
    // The steady case of a streaming run (a delta while thinking, or of an open tool call's
    // arguments): allowed, and changes nothing — no step of the actor.
    if (this.#actor !== undefined) {
      const toolCallId = 'toolCallId' in event ? event.toolCallId : undefined;
      const last = this.#inert;
      if (last !== undefined && last.snapshot === snapshot && last.type === event.type && last.toolCallId === toolCallId) {
        this.#emit(EVENT_NAME[event.type], data);
        this.#observer?.emitted?.();
        return;
      }
      const shape = stepShape(snapshot, event);
      if (shape === 'inert' || (shape === 'inertIfAllowed' && snapshot.can(event))) {
        this.#inert = { snapshot, type: event.type, toolCallId };
        this.#emit(EVENT_NAME[event.type], data);
        this.#observer?.emitted?.();
        return;
      }
    }
    const initial = this.#actor === undefined && this.#endedIn === undefined ? initialAnswer(snapshot, event) : undefined;
    if (this.#endedIn !== undefined || !(initial?.allowed ?? snapshot.can(event))) {
      const state = this.#endedIn !== undefined
        ? `${this.#endedIn} (ended)`
        : snapshot.status === 'done' ? `${String(snapshot.value)} (ended)` : String(snapshot.value);
      const call = 'toolCallId' in event ? `(${event.toolCallId})` : '';
      const open = snapshot.context.openToolCalls;
      throw new LockstepError(
        'LOCKSTEP_ERR_EVENT_ORDER',
        `Run ${this.runId} cannot emit ${EVENT_NAME[event.type]}${call} in state ${state}` +
          (open.length > 0 ? `; open tool calls: ${open.join(', ')}` : ''),
      );
    }
    const endsIn = this.#actor === undefined ? (initial === undefined ? finalStateAfter(snapshot, event) : initial.endsIn) : undefined;
    if (endsIn !== undefined) this.#endedIn = endsIn;
    else this.#actorNow().send(event);
    this.#emit(EVENT_NAME[event.type], data);
    this.#observer?.emitted?.();
  }

  #actorNow(): MachineRef<typeof agentRunMachine> {
    this.#actor ??= new MachineRunner(this.#machine, { input: { runId: this.runId } }).start();
    return this.#actor;
  }
}

/** A delta must be a string: its text is concatenated as it is (by a client, and by a resume's coalescing). */
function checkDelta(method: string, delta: unknown): void {
  if (typeof delta !== 'string') {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `run.${method}() needs a string delta, got ${delta === null ? 'null' : typeof delta}`);
  }
}

/** The run machine, or a variant of it (the mutation suite checks that I6 catches broken ones). */
export type AgentRunMachine = typeof agentRunMachine;

/** What a run is started with besides its ids. */
export interface RunOptions {
  /** The thread the run belongs to: in `agent_started` `data.threadId` and `run.threadId`. */
  threadId?: string;
  /** The server's watch over the run (deadlines, approvals, its end). */
  observer?: RunObserver;
}

/** A run handle as the server holds it: it can also answer the run's approval requests. */
export interface ServerRunHandle extends RunHandle {
  readonly pendingApprovals: readonly string[];
  resolveApproval(toolCallId: string, answer: ApprovalAnswer): boolean;
}

/** Starts a run: `agent_started` (with `data.threadId` when given) is emitted before this returns. */
export function startRun(
  runId: string,
  userId: string,
  emit: EmitAgentEvent,
  machine: AgentRunMachine = agentRunMachine,
  options: RunOptions = {},
): ServerRunHandle {
  return new CheckedRun(runId, userId, emit, machine, options);
}
