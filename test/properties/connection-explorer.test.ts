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

describe('exploreConnection', () => {
  it('every sequence has the trace of running it from a fresh actor (depth 2 all, depth 3 a sample)', () => {
    for (const [index, head] of heads.entries()) {
      let compared = 0;
      const report = exploreConnection(head, {
        depth: index === 0 ? 3 : 2,
        onTrace: (trace) => {
          // Depth ≤ 2 all of them, deeper a sample: the straight runs cost what the exploration saves.
          if (trace.scenario.commands.length === 3 && compared++ % 13 !== 0) return;
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
      // 1 + 19 + 19² (+ 19³) sequences less those cut short by a closed socket.
      expect(report.sequences).toBeGreaterThan(index === 0 ? 5_000 : 300);
      // The machine ran each command once per distinct state, fewer than the sequences.
      expect(report.commands).toBeLessThan(report.sequences);
    }
  });

  // `npm run fuzz` (FC_NUM_RUNS set) goes one command deeper: ~99,000 sequences per head.
  const depth = process.env.FC_NUM_RUNS === undefined ? 3 : 4;
  it(`every invariant holds on every sequence up to depth ${depth}`, () => {
    const report = exploreConnection(heads[1]!, { depth });
    expect(report.violation).toBeUndefined();
    expect(report.sequences).toBeGreaterThan(depth === 3 ? 5_000 : 90_000);
    expect(report.distinctStates).toBeGreaterThan(depth === 3 ? 500 : 2_000);
  });

  it('stops at maxSequences and says so', () => {
    const report = exploreConnection(heads[0]!, { depth: 4, maxSequences: 100 });
    expect(report.sequences).toBe(100);
    expect(report.truncated).toBe(true);
  });
});
