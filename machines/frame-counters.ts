/**
 * The counters a connection keeps about the frames it reads while `ready` — its `message`
 * token bucket, the number of runs it started, the bad-frame count — and the rules that move
 * them. Pure: time is a fact the adapter reads (`atMs`), never a clock here.
 *
 * Both the connection machine and its data path (connection-data-path.ts) apply these rules:
 * the path to the steady `message` frame it handles itself, the machine to every other frame
 * and to every frame when no path is installed. Whoever handled the last frame holds the
 * current counters; the path hands them over with each frame it gives the machine, and the
 * machine gives its result back (`syncFramePath`), so both always continue from the same count.
 *
 * The bucket refills lazily from the time fact instead of a per-connection timer: an idle or
 * full bucket costs nothing, and a frame the path handles needs no timer transition either.
 */
import { nextBadFrameCount } from './connection-bounds.js';

/** The connection's message bucket: `tokens` left when it was last spent, at `atMs` (undefined: time unknown). */
export interface ConnectionBucket {
  tokens: number;
  atMs: number | undefined;
}

/** What a connection counts about its frames (see the file comment). */
export interface FrameCounters {
  /** undefined: full, no message taken yet. */
  bucket: ConnectionBucket | undefined;
  /** Runs this connection started: the next message's run is `<connectionId>.<runCount + 1>`. */
  runCount: number;
  /** Refused frames, less one per valid frame (connection-bounds.ts nextBadFrameCount). */
  badFrames: number;
}

/** The counters of a connection that has read no frame yet. */
export const FRESH_FRAME_COUNTERS: FrameCounters = Object.freeze({ bucket: undefined, runCount: 0, badFrames: 0 });

/** The limits the counters are measured against (`ConnectionLimits`). */
export interface MessageRateLimits {
  /** Tokens back per second. */
  messageRate: number;
  /** Tokens in a full bucket. */
  messageBurst: number;
}

/**
 * Tokens in the connection's bucket at `atMs`: refilled at `messageRate` per second since it
 * was last spent, never above `messageBurst`. Without a time fact (a frame the machine raised
 * itself, or time not yet known) nothing is refilled: the count errs on the strict side.
 */
export function connectionTokens(counters: FrameCounters, atMs: number | undefined, limits: MessageRateLimits): number {
  const { bucket } = counters;
  if (bucket === undefined) return limits.messageBurst;
  if (atMs === undefined || bucket.atMs === undefined) return bucket.tokens;
  const elapsed = Math.max(0, atMs - bucket.atMs);
  return Math.min(limits.messageBurst, bucket.tokens + (elapsed * limits.messageRate) / 1000);
}

/** The run id of a connection's `n`-th run: unique, since connection ids are and `n` grows. */
export function runIdOf(connectionId: string, n: number): string {
  return `${connectionId}.${n}`;
}

/** After an accepted `message` frame: one token spent, one more run, one bad frame forgiven. */
export function countersAfterMessage(counters: FrameCounters, atMs: number | undefined, limits: MessageRateLimits): FrameCounters {
  const tokens = connectionTokens(counters, atMs, limits) - 1;
  return {
    bucket: { tokens, atMs: atMs ?? counters.bucket?.atMs },
    runCount: counters.runCount + 1,
    badFrames: nextBadFrameCount(counters.badFrames, false),
  };
}

/** After a valid frame that is not a message (`ping`, `auth`): one bad frame forgiven. */
export function countersAfterValidFrame(counters: FrameCounters): FrameCounters {
  return counters.badFrames === 0 ? counters : { bucket: counters.bucket, runCount: counters.runCount, badFrames: nextBadFrameCount(counters.badFrames, false) };
}

/**
 * After a refused frame (undecodable, or a message over a rate limit): one more bad frame. A
 * bucket spent while time was unknown starts refilling from the first time fact that arrives.
 */
export function countersAfterRefusedFrame(counters: FrameCounters, atMs?: number): FrameCounters {
  const { bucket } = counters;
  const stamped = bucket !== undefined && bucket.atMs === undefined && atMs !== undefined ? { tokens: bucket.tokens, atMs } : bucket;
  return { bucket: stamped, runCount: counters.runCount, badFrames: nextBadFrameCount(counters.badFrames, true) };
}

/** Which bucket refuses a `message` frame, or undefined: both have a token for it. */
export type MessageRefusal = 'user' | 'connection';

/**
 * The rate limits for one `message` frame: the user's bucket shared by its tabs (`userTokens`,
 * a fact; absent: no user bucket), then this connection's.
 */
export function messageRefusal(
  counters: FrameCounters,
  facts: { userTokens?: number | undefined; atMs?: number | undefined },
  limits: MessageRateLimits,
): MessageRefusal | undefined {
  if (facts.userTokens !== undefined && facts.userTokens < 1) return 'user';
  if (connectionTokens(counters, facts.atMs, limits) < 1) return 'connection';
  return undefined;
}
