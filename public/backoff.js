/**
 * Reconnect delay: exponential growth from `baseMs`, capped at `maxMs`, with "equal jitter"
 * (a random half on top of a fixed half) so that many tabs dropped by the same server restart
 * do not reconnect in lockstep — the fixed half keeps a floor, the random half spreads them.
 * Pure: the random source is injected, so tests pass their own.
 *
 * @param {number} attempt 0 for the first retry after a drop, 1 for the next, …
 * @param {{ baseMs?: number, maxMs?: number, random?: () => number }} [options]
 * @returns {number} milliseconds to wait
 */
export function backoffDelay(attempt, options = {}) {
  const { baseMs = 250, maxMs = 10_000, random = Math.random } = options;
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  // 2 ** attempt overflows to Infinity long after the cap; Math.min keeps it finite.
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
