/**
 * The message runs this server is running, by run id, so that a `cancel` frame can stop one:
 * only its own user's, only while it is open. Cancelling ends the run at once with
 * `agent_error` `{ reason: "cancelled" }` (the run grammar allows it at any point before the
 * end), whatever the handler does next: its later emissions are refused by the run handle,
 * so none reaches a client. The handler learns it through `context.signal`.
 *
 * An entry lives from the run's start until its handler settled: bounded by the runs in flight.
 */
import type { HandlerContext } from '../agent/handler.js';
import type { RunHandle } from '../agent/run-handle.js';

const cancelledReason = (runId: string) => new Error(`run ${runId} was cancelled by its user`);

/** One open run, and the handler's context for it (one object: a class, so it is cheap to make per message). */
class OpenRun implements HandlerContext {
  readonly userId: string;
  readonly connectionId: string;
  readonly run: RunHandle;
  /** Created when the handler first reads `signal` (most handlers never do). */
  controller: AbortController | undefined = undefined;
  cancelled = false;

  constructor(run: RunHandle, connectionId: string) {
    this.userId = run.userId;
    this.connectionId = connectionId;
    this.run = run;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort(cancelledReason(this.run.runId));
    }
    return this.controller.signal;
  }
}

export class OpenRuns {
  readonly #runs = new Map<string, OpenRun>();

  /**
   * Registers `run` and returns the handler's context for it: `signal` aborts when the run is
   * cancelled. Call `settled(run.runId)` once the handler settled.
   */
  open(run: RunHandle, connectionId: string): HandlerContext {
    const entry = new OpenRun(run, connectionId);
    this.#runs.set(run.runId, entry);
    return entry;
  }

  /** The handler of `runId` settled: its run can no longer be cancelled here. */
  settled(runId: string): void {
    this.#runs.delete(runId);
  }

  /**
   * Cancels `runId` for `userId`: true when it was open and is now ended with
   * `agent_error` `{ reason: "cancelled" }`; false when there is no open run of that user with
   * that id (ended, unknown, another user's — the caller cannot tell which).
   */
  cancel(userId: string, runId: string): boolean {
    const entry = this.#runs.get(runId);
    if (entry === undefined || entry.userId !== userId || entry.run.ended) return false;
    entry.cancelled = true;
    entry.run.fail({ reason: 'cancelled' });
    entry.controller?.abort(cancelledReason(runId));
    return true;
  }

  /** True when the run's handler should not be reported for what it does after a cancel. */
  wasCancelled(runId: string): boolean {
    return this.#runs.get(runId)?.cancelled ?? false;
  }

  /** Runs open now (for tests: the map is bounded by the runs in flight). */
  get size(): number {
    return this.#runs.size;
  }
}
