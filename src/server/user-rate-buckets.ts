/**
 * The per-user message buckets shared by all tabs of a user, for one server (one process:
 * with Redis scale-out each node keeps its own, so a user spread over N nodes gets up to N
 * times the rate — the per-connection bucket still holds everywhere). The arithmetic is the
 * pure machines/user-rate.ts; this only stores it and reads the clock.
 */
import { performance } from 'node:perf_hooks';
import { tokensAfterSpend, tokensAt, type UserBucket } from '../../machines/user-rate.js';

/** Beyond this many users with a bucket, full (refilled) buckets are dropped: they carry no state. */
const SWEEP_ABOVE = 10_000;

export class UserRateBuckets {
  readonly #buckets = new Map<string, UserBucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  /** Size at which the next sweep runs: doubles when a sweep frees little, so sweeps stay amortized O(1). */
  #sweepAt = SWEEP_ABOVE;

  constructor(rate: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = rate;
    this.#burst = burst;
    this.#now = now;
  }

  /** Tokens the user has now (refilled); a user with no bucket has a full one. */
  tokens(userId: string): number {
    const bucket = this.#buckets.get(userId);
    return bucket === undefined ? this.#burst : tokensAt(bucket, this.#now(), this.#rate, this.#burst);
  }

  /** One accepted message of `userId`. Each user's record is this store's own: updated in place, no object per message. */
  spend(userId: string): void {
    const now = this.#now();
    const bucket = this.#buckets.get(userId);
    const tokens = tokensAfterSpend(tokensAt(bucket, now, this.#rate, this.#burst), this.#burst);
    if (bucket !== undefined) {
      bucket.tokens = tokens;
      bucket.atMs = now;
      return;
    }
    this.#buckets.set(userId, { tokens, atMs: now });
    if (this.#buckets.size > this.#sweepAt) this.#sweep(now);
  }

  /** Users holding a bucket (for tests: the memory is bounded). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [userId, bucket] of this.#buckets) {
      if (tokensAt(bucket, now, this.#rate, this.#burst) >= this.#burst) this.#buckets.delete(userId);
    }
    this.#sweepAt = Math.max(SWEEP_ABOVE, 2 * this.#buckets.size);
  }
}
