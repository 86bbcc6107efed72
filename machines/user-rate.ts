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

/** Tokens in the bucket at `nowMs`: refilled at `rate` per second, never above `burst` (no bucket: full). */
export function tokensAt(bucket: UserBucket | undefined, nowMs: number, rate: number, burst: number): number {
  if (bucket === undefined) return burst;
  const elapsed = Math.max(0, nowMs - bucket.atMs);
  return Math.min(burst, bucket.tokens + (elapsed * rate) / 1000);
}

/**
 * Tokens left once a message took one. Frames held before `ready` are released without a
 * fresh fact, so the bucket may go into debt — at most `burst` below zero — and later
 * messages wait for it.
 */
export function tokensAfterSpend(tokens: number, burst: number): number {
  return Math.max(-burst, tokens - 1);
}
