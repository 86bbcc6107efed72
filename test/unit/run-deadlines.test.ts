/** The pure deadline policy of a run (machines/run-deadlines.ts): which deadline passes first, and when to look again. */
import { describe, expect, it } from 'vitest';
import { decideDeadline, earliestDeadline } from '../../machines/run-deadlines.js';

const limits = { runTimeoutMs: 1_000, runIdleTimeoutMs: 300, approvalTimeoutMs: 500 };
const facts = (lastActivityAtMs: number, pending: Array<[string, number]> = []) => ({
  startedAtMs: 0,
  lastActivityAtMs,
  pendingApprovals: pending.map(([toolCallId, requestedAtMs]) => ({ toolCallId, requestedAtMs })),
});

describe('run deadlines', () => {
  it('idle counts from the last event; a timer that fires early is told when to look again', () => {
    expect(decideDeadline(facts(0), limits, 299)).toEqual({ passed: undefined, checkAtMs: 300 });
    expect(decideDeadline(facts(200), limits, 300)).toEqual({ passed: undefined, checkAtMs: 500 });
    expect(decideDeadline(facts(200), limits, 500)).toEqual({ passed: { deadline: 'idle', limitMs: 300 } });
  });

  it('the run deadline holds however active the run is', () => {
    expect(decideDeadline(facts(990), limits, 999)).toEqual({ passed: undefined, checkAtMs: 1_000 });
    expect(decideDeadline(facts(990), limits, 1_000)).toEqual({ passed: { deadline: 'run', limitMs: 1_000 } });
  });

  it('a pending approval suspends idle time and has its own deadline, earliest first', () => {
    expect(decideDeadline(facts(0, [['a', 100], ['b', 50]]), limits, 400)).toEqual({ passed: undefined, checkAtMs: 550 });
    expect(decideDeadline(facts(0, [['a', 100], ['b', 50]]), limits, 560)).toEqual({ passed: { deadline: 'approval', limitMs: 500, toolCallId: 'b' } });
    // The run's own deadline comes first on a tie: ending the run answers its approvals too.
    expect(earliestDeadline(facts(0, [['a', 500]]), limits).passed).toEqual({ deadline: 'run', limitMs: 1_000 });
  });
});
