import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay } from '../../public/backoff.js';

describe('backoffDelay (the demo page reconnect delay)', () => {
  it('doubles from baseMs, with the fixed half as a floor and the random half on top', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { baseMs: 100, random: () => 0 }))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { baseMs: 100, random: () => 0.999999 }))).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds maxMs, even for huge attempt numbers', () => {
    expect(backoffDelay(10_000, { baseMs: 100, maxMs: 5_000, random: () => 0.999999 })).toBe(5_000);
    expect(backoffDelay(10_000, { baseMs: 100, maxMs: 5_000, random: () => 0 })).toBe(2_500);
  });

  it('stays within [ceiling/2, ceiling] for any attempt and random draw', () => {
    fc.assert(
      fc.property(fc.nat(64), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, draw) => {
        const ceiling = Math.min(10_000, 250 * 2 ** attempt);
        const delay = backoffDelay(attempt, { random: () => draw });
        return delay >= Math.floor(ceiling / 2) && delay <= ceiling;
      }),
    );
  });

  it('spreads clients that retry at the same attempt (jitter)', () => {
    const delays = new Set([0, 0.25, 0.5, 0.75].map((draw) => backoffDelay(4, { random: () => draw })));
    expect(delays.size).toBe(4);
  });

  it('refuses an attempt that is not a non-negative integer', () => {
    expect(() => backoffDelay(-1)).toThrow(RangeError);
    expect(() => backoffDelay(1.5)).toThrow(/non-negative integer/);
  });
});
