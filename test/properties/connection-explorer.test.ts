/**
 * The bounded exhaustive exploration (src/testing/connection-explorer.ts): every command
 * sequence up to a depth, from shared prefixes, each checked for every connection invariant.
 * Its traces are assembled from pieces recorded once per distinct state; they must be exactly
 * the traces of running each sequence from a fresh actor.
 */
import { describe, expect, it } from 'vitest';
import { EXPLORATION_LIMITS, exploreConnection } from '../../src/testing/connection-explorer.js';
import { runConnectionScenarioSync, type ScenarioHead, type ScenarioTrace } from '../../src/testing/connection-scenario.js';
import { expectSameTrace } from '../support/same-trace.js';

const heads: ScenarioHead[] = [
  { credentials: 'upgrade', limits: EXPLORATION_LIMITS, priorEvents: 0, retainEvents: 1 },
  { credentials: 'authFrame', limits: EXPLORATION_LIMITS, priorEvents: 2, retainEvents: 3 },
];

describe('exploreConnection', () => {
  it('every sequence of up to 2 commands has the trace of running it from a fresh actor', () => {
    for (const head of heads) {
      const report = exploreConnection(head, {
        depth: 2,
        onTrace: (trace) => {
          const straight = runConnectionScenarioSync(trace.scenario);
          expectSameTrace(trace, straight);
        },
      });
      expect(report.violation).toBeUndefined();
      // 1 + 19 + 19² sequences less those cut short by a closed socket.
      expect(report.sequences).toBeGreaterThan(300);
      // The machine ran each command once per distinct state (at a depth), fewer than the sequences.
      expect(report.commands).toBeLessThan(report.sequences);
    }
  });

  // `npm run fuzz` (FC_NUM_RUNS set) goes one command deeper, from both heads, and compares a
  // sample of the deeper traces with straight runs too: ~99,000 sequences per head.
  const fuzzing = process.env.FC_NUM_RUNS !== undefined;
  const depth = fuzzing ? 4 : 3;
  it(`every invariant holds on every sequence of up to ${depth} commands`, () => {
    for (const head of fuzzing ? heads : heads.slice(0, 1)) {
      let deep = 0;
      const report = exploreConnection(head, {
        depth,
        ...(fuzzing
          ? {
              onTrace: (trace: ScenarioTrace) => {
                if (trace.scenario.commands.length <= 2 || deep++ % 400 !== 0) return;
                const straight = runConnectionScenarioSync(trace.scenario);
                expect(trace.effects).toEqual(straight.effects);
                expect(trace.steps).toEqual(straight.steps);
              },
            }
          : {}),
      });
      expect(report.violation).toBeUndefined();
      expect(report.truncated).toBe(false);
      expect(report.sequences).toBeGreaterThan(fuzzing ? 90_000 : 5_000);
      expect(report.distinctStates).toBeGreaterThan(fuzzing ? 2_000 : 500);
    }
  });

  it('stops at maxSequences and says so', () => {
    const report = exploreConnection(heads[0]!, { depth: 4, maxSequences: 100 });
    expect(report.sequences).toBe(100);
    expect(report.truncated).toBe(true);
  });
});
