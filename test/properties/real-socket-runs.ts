import { fuzzScaledRuns } from '../support/fuzz-runs.js';

/**
 * Runs for properties over real sockets: each run starts a server and clients on loopback,
 * about a hundred times slower than a pure-machine run. `npm test` uses the given default;
 * with FC_NUM_RUNS set (`npm run fuzz`), a tenth of it, so 100,000 fuzz runs stay in minutes.
 */
export function realSocketRuns(testDefault: number): number {
  return fuzzScaledRuns(testDefault, 10);
}
