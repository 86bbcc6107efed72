/**
 * The per-user message bucket shared by all tabs of a user (`limits.userMessageRate` /
 * `userMessageBurst`): pure arithmetic over `{ tokens, atMs }`. The server keeps one per user
 * that sent recently and reports its level as a fact (`userTokens`); the connection machine
 * refuses a message when it is below 1 and, when it accepts one, asks the server to spend.
 */
export interface UserBucket {
  tokens: number;
  atMs: number;
}

/** The bucket at `nowMs`: refilled at `rate` per second, never above `burst`. */
export function refilledBucket(bucket: UserBucket | undefined, nowMs: number, rate: number, burst: number): UserBucket {
  if (bucket === undefined) return { tokens: burst, atMs: nowMs };
  const elapsed = Math.max(0, nowMs - bucket.atMs);
  return { tokens: Math.min(burst, bucket.tokens + (elapsed * rate) / 1000), atMs: nowMs };
}

/**
 * One message taken. Frames held before `ready` are released without a fresh fact, so the
 * bucket may go into debt — at most `burst` below zero — and later messages wait for it.
 */
export function spentBucket(bucket: UserBucket, burst: number): UserBucket {
  return { tokens: Math.max(-burst, bucket.tokens - 1), atMs: bucket.atMs };
}
