/**
 * The runs this server is running, by run id, from their start until they ended (a `startRun`
 * run) or their handler settled (a message's run; one whose handler answered synchronously
 * ended before it returned, and is never open here). Here:
 *
 * - a `cancel` frame stops a message run: only its own user's, only while it is open;
 * - an `approve` frame answers a run's pending approval: the first answer wins;
 * - each run's deadlines are watched (machines/run-deadlines.ts decides; one timer per run).
 *
 * Stopping a run — a cancel, or a run or idle deadline — ends it at once with `agent_error`
 * (`{ reason: "cancelled" }` / `{ reason: "timeout", deadline, limitMs }`), whatever the handler
 * does next: its later emissions are refused by the run handle, so none reaches a client. The
 * handler learns it through `context.signal`. Entries are bounded by the runs in flight.
 */
import type { HandlerContext } from '../agent/handler.js';
import type { ApprovalAnswer, RunObserver, ServerRunHandle } from '../agent/run-handle.js';
import { decideDeadline, earliestDeadline, type PassedDeadline, type RunDeadlineLimits, type RunTimeFacts } from '../../machines/run-deadlines.js';

/** The time source of the deadlines: the server's clock (a SimulatedClock in tests). */
export interface DeadlineClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Why a stopped run's signal aborted. */
function stopReason(runId: string, why: 'cancelled' | PassedDeadline): Error {
  if (why === 'cancelled') return new Error(`run ${runId} was cancelled by its user`);
  const error = new Error(`run ${runId} passed its ${why.deadline === 'run' ? 'run' : 'idle'} deadline (${why.limitMs} ms)`);
  error.name = 'TimeoutError';
  return error;
}

/**
 * One open run: the handler's context for it (one object, a class, so it is cheap to make per
 * message) and the run's observer, which keeps the facts its deadlines are decided on.
 */
class OpenRun implements HandlerContext, RunObserver {
  readonly userId: string;
  readonly connectionId: string;
  /** A message's run (its user may cancel it); a `startRun` run belongs to the application. */
  readonly cancellable: boolean;
  run!: ServerRunHandle;
  /** Created when the handler first reads `signal` (most handlers never do). */
  controller: AbortController | undefined = undefined;
  /** Set when the run was stopped here (cancel or deadline): the handler's next emission throws, and that is no fault. */
  stoppedBy: Error | undefined = undefined;
  readonly startedAtMs: number;
  lastActivityAtMs: number;
  /** When each pending approval was asked, by tool call id; made by the first request (most runs ask none). */
  requestedAtMs: Map<string, number> | undefined = undefined;
  timer: unknown = undefined;
  /** When the timer fires (ms on the deadline clock); undefined while none is set. */
  dueAtMs: number | undefined = undefined;
  readonly #runs: OpenRuns;

  constructor(runs: OpenRuns, userId: string, connectionId: string | undefined, nowMs: number) {
    this.#runs = runs;
    this.userId = userId;
    this.connectionId = connectionId ?? '';
    this.cancellable = connectionId !== undefined;
    this.startedAtMs = nowMs;
    this.lastActivityAtMs = nowMs;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stoppedBy !== undefined) this.controller.abort(this.stoppedBy);
    }
    return this.controller.signal;
  }

  get facts(): RunTimeFacts {
    return {
      startedAtMs: this.startedAtMs,
      lastActivityAtMs: this.lastActivityAtMs,
      pendingApprovals: this.requestedAtMs === undefined ? [] : [...this.requestedAtMs].map(([toolCallId, requestedAtMs]) => ({ toolCallId, requestedAtMs })),
    };
  }

  // RunObserver: called by the run handle.
  emitted(): void {
    this.lastActivityAtMs = this.#runs.clock.now();
  }

  approvalRequested(toolCallId: string): void {
    (this.requestedAtMs ??= new Map()).set(toolCallId, this.#runs.clock.now());
    this.#runs.rearm(this);
  }

  ended(): void {
    this.#runs.runEnded(this);
  }
}

/**
 * Decides an approval whose deadline passed when several nodes may answer it (run-control.ts):
 * resolves the answer that won — the timeout, or a user's that reached another node first —
 * or undefined when the shared record has nothing pending (then the timeout stands).
 */
export type TimeoutArbiter = (userId: string, runId: string, toolCallId: string, timeout: ApprovalAnswer) => Promise<ApprovalAnswer | undefined>;

export class OpenRuns {
  readonly #runs = new Map<string, OpenRun>();
  readonly #limits: RunDeadlineLimits;
  readonly clock: DeadlineClock;
  /** Set when approvals are shared between nodes; without it, a timeout is decided here. */
  timeoutArbiter: TimeoutArbiter | undefined = undefined;

  constructor(limits: RunDeadlineLimits, clock: DeadlineClock) {
    this.#limits = limits;
    this.clock = clock;
  }

  /**
   * The observer and handler context of a run about to start (its deadlines count from now):
   * give the observer to `startRun`, then hand the handle to `attach`. `connectionId`: the
   * connection whose message started it (cancellable by its user), or undefined for a
   * `startRun` run.
   */
  begin(runId: string, userId: string, connectionId: string | undefined): OpenRun {
    return new OpenRun(this, userId, connectionId, this.clock.now());
  }

  /**
   * The run has its handle. It is open here — found by cancels, approvals and the shared run
   * control, its deadlines watched — once `watchNow` or `watchSoon` registered it. A message
   * whose handler answered synchronously needs neither: its run ended before anything could
   * look for it (a frame, a timer, a shared store's answer all come in a later turn).
   */
  attach(entry: OpenRun, run: ServerRunHandle): void {
    entry.run = run;
  }

  /** Opens the run and sets its timer now (a message's asynchronous handler has just returned). */
  watchNow(entry: OpenRun): void {
    this.#runs.set(entry.run.runId, entry);
    this.rearm(entry);
  }

  /**
   * Opens the run and sets its timer a microtask later: a run that its starter ends at once
   * (`sendToUser`, or `startRun` then `complete` in the same turn) never sets one.
   */
  watchSoon(entry: OpenRun): void {
    this.#runs.set(entry.run.runId, entry);
    queueMicrotask(() => {
      if (this.#runs.get(entry.run.runId) === entry) this.rearm(entry);
    });
  }

  /** The handler of `runId` settled: its run can no longer be cancelled here. */
  settled(runId: string): void {
    const entry = this.#runs.get(runId);
    if (entry === undefined) return;
    this.#disarm(entry);
    this.#runs.delete(runId);
  }

  /**
   * Cancels `runId` for `userId`: true when it was open and is now ended with
   * `agent_error` `{ reason: "cancelled" }`; false when there is no open message run of that
   * user with that id (ended, unknown, another user's, a `startRun` run — the caller cannot tell which).
   */
  cancel(userId: string, runId: string): boolean {
    const entry = this.#runs.get(runId);
    if (entry === undefined || !entry.cancellable || entry.userId !== userId || entry.run === undefined || entry.run.ended) return false;
    this.#stop(entry, 'cancelled');
    return true;
  }

  /**
   * The user's answer to a pending approval of `runId`: true when it was pending and is now
   * resolved (the run gets `approval_resolved`); false when nothing waits for it (answered,
   * timed out, unknown, another user's, the run ended).
   */
  answerApproval(userId: string, runId: string, toolCallId: string, approved: boolean, data: unknown): boolean {
    const entry = this.#runs.get(runId);
    if (entry === undefined || entry.userId !== userId || entry.run === undefined) return false;
    const answer = data === undefined ? { approved, reason: 'user' as const } : { approved, reason: 'user' as const, data };
    if (!entry.run.resolveApproval(toolCallId, answer)) return false;
    entry.requestedAtMs?.delete(toolCallId);
    this.rearm(entry);
    return true;
  }

  /** The open run `runId` (its user and the approvals it waits for), or undefined. */
  pendingOf(runId: string): { userId: string; toolCallIds: string[] } | undefined {
    const entry = this.#runs.get(runId);
    if (entry === undefined || entry.run === undefined || entry.run.ended) return undefined;
    return { userId: entry.userId, toolCallIds: [...entry.run.pendingApprovals] };
  }

  /** The ids of the runs open here. */
  runIds(): string[] {
    return [...this.#runs.keys()];
  }

  /** Another node recorded a cancel of `runId` (its user's; checked there): stop it like a local cancel. */
  cancelFromShared(runId: string): void {
    const entry = this.#runs.get(runId);
    if (entry !== undefined && entry.cancellable && entry.run !== undefined && !entry.run.ended) this.#stop(entry, 'cancelled');
  }

  /** The answer that won a pending approval of `runId` in the shared record: resolve it here. */
  resolveFromShared(runId: string, toolCallId: string, answer: ApprovalAnswer): void {
    const entry = this.#runs.get(runId);
    if (entry === undefined || entry.run === undefined) return;
    if (entry.run.resolveApproval(toolCallId, answer)) {
      entry.requestedAtMs?.delete(toolCallId);
      this.rearm(entry);
    }
  }

  /** Runs open now (for tests: the map is bounded by the runs in flight). */
  get size(): number {
    return this.#runs.size;
  }

  /** Sets the run's timer for its earliest deadline, unless the one set fires no later. */
  rearm(entry: OpenRun): void {
    if (entry.run === undefined || entry.run.ended) return;
    const { atMs } = earliestDeadline(entry.facts, this.#limits);
    if (entry.dueAtMs !== undefined && entry.dueAtMs <= atMs) return;
    this.#disarm(entry);
    entry.dueAtMs = atMs;
    entry.timer = this.clock.setTimeout(() => this.#fire(entry), Math.max(0, atMs - this.clock.now()));
  }

  /** The run ended however it did: its deadlines no longer matter; a `startRun` run is forgotten. */
  runEnded(entry: OpenRun): void {
    this.#disarm(entry);
    if (!entry.cancellable && entry.run !== undefined && this.#runs.get(entry.run.runId) === entry) this.#runs.delete(entry.run.runId);
  }

  #fire(entry: OpenRun): void {
    entry.timer = undefined;
    entry.dueAtMs = undefined;
    if (entry.run.ended) return;
    const decision = decideDeadline(entry.facts, this.#limits, this.clock.now());
    if (decision.passed === undefined) {
      this.rearm(entry);
      return;
    }
    if (decision.passed.deadline === 'approval') {
      const { toolCallId } = decision.passed;
      const timeout: ApprovalAnswer = { approved: false, reason: 'timeout' };
      // No longer waiting on this deadline; the idle time restarts now (waiting for a person was not idle).
      entry.requestedAtMs?.delete(toolCallId);
      entry.lastActivityAtMs = this.clock.now();
      if (this.timeoutArbiter === undefined) entry.run.resolveApproval(toolCallId, timeout);
      else {
        const run = entry.run;
        void this.timeoutArbiter(entry.userId, run.runId, toolCallId, timeout).then(
          (winner) => run.resolveApproval(toolCallId, winner ?? timeout),
          () => run.resolveApproval(toolCallId, timeout),
        );
      }
      this.rearm(entry);
      return;
    }
    this.#stop(entry, decision.passed);
  }

  #stop(entry: OpenRun, why: 'cancelled' | PassedDeadline): void {
    entry.stoppedBy = stopReason(entry.run.runId, why);
    entry.run.fail(why === 'cancelled' ? { reason: 'cancelled' } : { reason: 'timeout', deadline: why.deadline, limitMs: why.limitMs });
    entry.controller?.abort(entry.stoppedBy);
  }

  #disarm(entry: OpenRun): void {
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.dueAtMs = undefined;
  }
}
