/**
 * What nodes sharing users ask of each other's runs: a run lives on the node that started it,
 * but its user's `cancel` or `approve` frame may reach any node. A shared backend (Redis)
 * records the request where every node sees it and tells the nodes; the run's owner acts on it.
 */
import type { ApprovalAnswer } from '../agent/run-handle.js';

/** The shared record of one run's control: cancelled, and the answers its approvals received. */
export interface RunControlRecord {
  cancelled: boolean;
  answers: Map<string, ApprovalAnswer>;
}

/** A claim's outcome: whether this claim won, and the answer that did. */
export interface AnswerClaim { won: boolean; answer: ApprovalAnswer }

/** Cross-node cancels and approval answers, as a shared backend (Redis) provides them to a server. */
export interface SharedRunControl {
  /** Marks the run cancelled when it is open on some node for `userId`; false when it is not. */
  cancel(userId: string, runId: string): Promise<boolean>;
  /**
   * Claims the answer of a pending approval: the first claim wins, whichever node it reaches.
   * Undefined when nothing waits (never asked, the run ended, not this user's run).
   */
  claimAnswer(userId: string, runId: string, toolCallId: string, answer: ApprovalAnswer): Promise<AnswerClaim | undefined>;
  /** What was asked of `runId`: the cancel mark, and the answers of `toolCallIds` that have one. */
  read(runId: string, toolCallIds: readonly string[]): Promise<RunControlRecord>;
  /**
   * `listener(runId)` whenever some node changed a run's control (a hint: at most once), and
   * `listener(undefined)` after the notifications were interrupted (look at every run).
   */
  onChange(listener: (runId: string | undefined) => void): void;
}
