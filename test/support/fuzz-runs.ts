/**
 * A property's number of runs: `testDefault` under `npm test`; with FC_NUM_RUNS set (`npm run
 * fuzz`), FC_NUM_RUNS divided by `divisor` (rounded up, at least 1) — for properties whose runs
 * cost more than the suite's default property run.
 */
export function fuzzScaledRuns(testDefault: number, divisor: number): number {
  const requested = process.env.FC_NUM_RUNS;
  return requested === undefined ? testDefault : Math.max(1, Math.ceil(Number(requested) / divisor));
}
