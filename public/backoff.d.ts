/** Types for backoff.js (the demo page ships plain JS; tests import it from TypeScript). */
export declare function backoffDelay(
  attempt: number,
  options?: { baseMs?: number; maxMs?: number; random?: () => number },
): number;
