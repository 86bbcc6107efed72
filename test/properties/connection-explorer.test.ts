/**
 * The bounded exhaustive exploration (src/testing/connection-explorer.ts): every command
 * sequence up to a depth, from shared prefixes, each checked for every connection invariant.
 * Its traces are assembled from pieces recorded once per distinct state; they must be exactly
 * the traces of running each sequence from a fresh actor.
 */
import { describe, expect, it } from 'vitest';
import { EXPLORATION_LIMITS, exploreConnection } from '../../src/testing/connection-explorer.js';
import { runConnectionScenarioSync, type ScenarioHead } from '../../src/testing/connection-scenario.js';

const heads: ScenarioHead[] = [
  { credentials: 'upgrade', limits: EXPLORATION_LIMITS, priorEvents: 0, retainEvents: 1 },
  { credentials: 'authFrame', limits: EXPLORATION_LIMITS, priorEvents: 2, retainEvents: 3 },
];

// `npm run fuzz` (FC_NUM_RUNS set) goes one command deeper: ~99,000 sequences per head.
const fuzzing = process.env.FC_NUM_RUNS !== undefined;

describe('exploreConnection', () => {
  // Depth ≤ 2 all of them, deeper a sample: the straight runs cost what the exploration saves.
  const cases = [
    { head: heads[0]!, depth: fuzzing ? 4 : 3, minSequences: fuzzing ? 90_000 : 5_000 },
    { head: heads[1]!, depth: fuzzing ? 4 : 2, minSequences: fuzzing ? 90_000 : 300 },
  ];
  for (const { head, depth, minSequences } of cases) {
    it(`every sequence of up to ${depth} commands (${head.credentials}) keeps every invariant, with the trace of running it from a fresh actor`, () => {
      let deep = 0;
      const report = exploreConnection(head, {
        depth,
        onTrace: (trace) => {
          if (trace.scenario.commands.length > 2 && deep++ % (fuzzing ? 400 : 100) !== 0) return;
          const straight = runConnectionScenarioSync(trace.scenario);
          expect(trace.effects).toEqual(straight.effects);
          expect(trace.steps).toEqual(straight.steps);
          expect(trace.sentMessageIds).toEqual(straight.sentMessageIds);
          expect(trace.lastAppendedSeq).toBe(straight.lastAppendedSeq);
          expect(trace.actorError).toEqual(straight.actorError);
        },
      });
      expect(report.violation).toBeUndefined();
      expect(report.truncated).toBe(false);
      // 1 + 19 + 19² (+ 19³ …) sequences less those cut short by a closed socket.
      expect(report.sequences).toBeGreaterThan(minSequences);
      // The machine ran each command once per distinct state (at a depth), fewer than the sequences.
      expect(report.commands).toBeLessThan(report.sequences);
      expect(report.distinctStates).toBeGreaterThan(100);
    });
  }

  it('stops at maxSequences and says so', () => {
    const report = exploreConnection(heads[0]!, { depth: 4, maxSequences: 100 });
    expect(report.sequences).toBe(100);
    expect(report.truncated).toBe(true);
  });
});
