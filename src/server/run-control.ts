/**
 * Cancels and approval answers, wherever the run lives. On one node they act on `OpenRuns`
 * directly. With a shared backend, a cancel of a run that is not here is recorded there (the
 * owner stops it when told), and every approval answer — a user's from any node, or the
 * owner's timeout — is claimed there first, so exactly one answer wins across nodes.
 */
import type { ApprovalAnswer } from '../agent/run-handle.js';
import type { SharedRunControl } from '../delivery/shared-run-control.js';
import type { OpenRuns } from './open-runs.js';

export class RunControl {
  readonly #open: OpenRuns;
  readonly #shared: SharedRunControl | undefined;
  readonly #onError: (error: unknown) => void;

  constructor(open: OpenRuns, shared: SharedRunControl | undefined, onError: (error: unknown) => void) {
    this.#open = open;
    this.#shared = shared;
    this.#onError = onError;
    if (shared === undefined) return;
    shared.onChange((runId) => {
      for (const id of runId === undefined ? open.runIds() : [runId]) this.#lookAt(id);
    });
    open.timeoutArbiter = async (userId, id, toolCallId, timeout) => (await shared.claimAnswer(userId, id, toolCallId, timeout))?.answer;
  }

  /** True (or a promise of true) when `runId` was open for `userId` and is now cancelled, here or on its node. */
  cancel(userId: string, runId: string): boolean | Promise<boolean> {
    if (this.#open.cancel(userId, runId)) return true;
    // Not open here: maybe on another node. A run of this node that is not open is refused there too.
    return this.#shared === undefined ? false : this.#shared.cancel(userId, runId);
  }

  /** True (or a promise of true) when this answer was the first to a pending approval of the user's run. */
  answer(userId: string, runId: string, toolCallId: string, approved: boolean, data: unknown): boolean | Promise<boolean> {
    if (this.#shared === undefined) return this.#open.answerApproval(userId, runId, toolCallId, approved, data);
    const answer: ApprovalAnswer = data === undefined ? { approved, reason: 'user' } : { approved, reason: 'user', data };
    return this.#shared.claimAnswer(userId, runId, toolCallId, answer).then((claim) => {
      if (claim?.won !== true) return false;
      // Here: resolve now. Elsewhere: the owner resolves it when told (or on its next full look).
      this.#open.resolveFromShared(runId, toolCallId, claim.answer);
      return true;
    });
  }

  /** Applies what other nodes recorded for `runId`, when it is open here. */
  #lookAt(runId: string): void {
    const pending = this.#open.pendingOf(runId);
    if (pending === undefined || this.#shared === undefined) return;
    this.#shared.read(runId, pending.toolCallIds).then((record) => {
      if (record.cancelled) this.#open.cancelFromShared(runId);
      for (const [toolCallId, answer] of record.answers) this.#open.resolveFromShared(runId, toolCallId, answer);
    }, this.#onError);
  }
}
