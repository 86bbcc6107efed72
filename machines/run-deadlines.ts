/**
 * A run's deadlines, as a pure decision over facts (no clock, no timer): the server keeps one
 * timer per open run, set for the time this policy names, and asks again when it fires. Three
 * named delays:
 *
 * - `runTimeout`: from the run's start to its end, whatever it does (`runTimeoutMs`);
 * - `runIdle`: from the run's last event, while no approval is pending — a run waiting for a
 *   person is not idle (`runIdleTimeoutMs`);
 * - `approvalTimeout`: from an approval request to its answer (`approvalTimeoutMs`).
 *
 * Idle time is judged lazily: an event does not move the timer, it moves `lastActivityAtMs`,
 * and a timer that fires early is answered with the next time to look (one timer per run,
 * never one per event). A passed `runTimeout` or `runIdle` ends the run like a cancel, with
 * `agent_error` `{ reason: "timeout", deadline }`; a passed `approvalTimeout` answers the
 * approval `approved: false` with `reason: "timeout"` and the run goes on.
 */

/** The three limits, in ms (server options `runTimeoutMs`, `runIdleTimeoutMs`, `approvalTimeoutMs`). */
export interface RunDeadlineLimits {
  runTimeoutMs: number;
  runIdleTimeoutMs: number;
  approvalTimeoutMs: number;
}

/** Defaults: a run may take 10 minutes, stay silent 2, and wait 5 for a person's answer. */
export const DEFAULT_RUN_DEADLINES: RunDeadlineLimits = {
  runTimeoutMs: 10 * 60_000,
  runIdleTimeoutMs: 2 * 60_000,
  approvalTimeoutMs: 5 * 60_000,
};

/** What the server knows of one open run, on its clock (ms). */
export interface RunTimeFacts {
  startedAtMs: number;
  /** When the run last emitted an event or had an approval answered. */
  lastActivityAtMs: number;
  /** The approvals waiting for an answer, with when each was asked. */
  pendingApprovals: ReadonlyArray<{ toolCallId: string; requestedAtMs: number }>;
}

/** Which deadline passed: the run must end (`run`, `idle`) or one approval is answered `timeout`. */
export type PassedDeadline =
  | { deadline: 'run'; limitMs: number }
  | { deadline: 'idle'; limitMs: number }
  | { deadline: 'approval'; limitMs: number; toolCallId: string };

/** The decision at `nowMs`: a deadline that passed (the earliest), or when to look again. */
export type DeadlineDecision = { passed: PassedDeadline } | { passed: undefined; checkAtMs: number };

/**
 * The earliest deadline of the run, passed or not. Ties go to the run's own deadlines before an
 * approval's (ending the run answers its approvals too).
 */
export function earliestDeadline(facts: RunTimeFacts, limits: RunDeadlineLimits): { atMs: number; passed: PassedDeadline } {
  let earliest: { atMs: number; passed: PassedDeadline } = {
    atMs: facts.startedAtMs + limits.runTimeoutMs,
    passed: { deadline: 'run', limitMs: limits.runTimeoutMs },
  };
  if (facts.pendingApprovals.length === 0) {
    const idleAt = facts.lastActivityAtMs + limits.runIdleTimeoutMs;
    if (idleAt < earliest.atMs) earliest = { atMs: idleAt, passed: { deadline: 'idle', limitMs: limits.runIdleTimeoutMs } };
  }
  for (const approval of facts.pendingApprovals) {
    const at = approval.requestedAtMs + limits.approvalTimeoutMs;
    if (at < earliest.atMs) {
      earliest = { atMs: at, passed: { deadline: 'approval', limitMs: limits.approvalTimeoutMs, toolCallId: approval.toolCallId } };
    }
  }
  return earliest;
}

/** What a run's timer does when it fires at `nowMs` (or is set): act on a passed deadline, or wait until `checkAtMs`. */
export function decideDeadline(facts: RunTimeFacts, limits: RunDeadlineLimits, nowMs: number): DeadlineDecision {
  const earliest = earliestDeadline(facts, limits);
  return earliest.atMs <= nowMs ? { passed: earliest.passed } : { passed: undefined, checkAtMs: earliest.atMs };
}
