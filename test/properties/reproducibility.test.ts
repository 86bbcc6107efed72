/**
 * I11: every failure found by fuzzing replays from its seed and path. Two parts: a scenario is
 * a pure function of its commands (same commands, same trace), and a failing property re-run
 * with the reported `{ seed, path }` fails again on the very same counterexample at once.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connectionScenario } from '../../src/testing/connection-arbitraries.js';
import { runConnectionScenarioSync } from '../../src/testing/connection-scenario.js';

describe('I11 reproducibility', () => {
  it('the same scenario always produces the same trace', () => {
    fc.assert(
      fc.property(connectionScenario(), (scenario) => {
        const first = runConnectionScenarioSync(scenario);
        const second = runConnectionScenarioSync(scenario);
        expect(second.effects).toEqual(first.effects);
        expect(second.steps).toEqual(first.steps);
      }),
    );
  });

  it('a counterexample replays from { seed, path } as the first and only run', async () => {
    // A property that fails on a rare-enough condition: some scenario holds 2+ garbage frames
    // (measured: found after ~190 runs on average, so 10,000 runs miss it with probability
    // e^-52; 3+ frames took ~2,300 runs and missed about once in 80 CI runs).
    const property = () =>
      fc.asyncProperty(connectionScenario(), async (scenario) => {
        expect(scenario.commands.filter((c) => c.kind === 'garbage').length).toBeLessThan(2);
      });
    const found = await fc.check(property(), { numRuns: 10_000 });
    expect(found.failed).toBe(true);
    const replayed = await fc.check(property(), { seed: found.seed, path: found.counterexamplePath ?? '', numRuns: 1, endOnFailure: true });
    expect(replayed.failed).toBe(true);
    expect(replayed.numRuns).toBe(1);
    expect(replayed.counterexample).toEqual(found.counterexample);
  });
});
