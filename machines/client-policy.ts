/**
 * The pure rules behind the client machine (machines/client.ts): how long to wait before the
 * next reconnect, and what a close code means for the client. Both are functions of facts the
 * runtime reports (the attempt count, a random draw, the close frame), so the machine decides
 * and the unit tests pin every case.
 */
import { CloseCode, CloseReason } from '../src/protocol/close-codes.js';

/** Reconnect timing of the client (`createLockstepClient({ backoff })`). */
export interface ClientTiming {
  /** First reconnect delay ceiling, doubled per attempt. Default 250. */
  baseMs: number;
  /** Largest reconnect delay. Default 10000. */
  maxMs: number;
  /**
   * How long an attempt may take from opening the socket to the `ready` frame. Default 30000:
   * beyond the server's own handshake bounds (authTimeoutMs 5000 + backendTimeoutMs 10000 +
   * joinTimeoutMs 10000), so a slow server answers with its close code first; this catches a
   * connection that went silent (a half-open TCP connection, a proxy that holds the upgrade).
   */
  openTimeoutMs: number;
  /** How long a message refused with LOCKSTEP_E_RATE_LIMITED waits before it is sent again. Default 1000. */
  rateLimitRetryMs: number;
}

/** The timing used for every field of `backoff` that is not given. */
export const DEFAULT_CLIENT_TIMING: ClientTiming = {
  baseMs: 250,
  maxMs: 10_000,
  openTimeoutMs: 30_000,
  rateLimitRetryMs: 1_000,
};

/**
 * Reconnect delay: exponential growth from `baseMs`, capped at `maxMs`, with "equal jitter" (a
 * fixed half plus `jitter` times the other half) so that the tabs dropped by one server restart
 * do not all come back in the same millisecond. `jitter` is a draw in [0, 1) that the runtime
 * reports with the close (the machine reads no random source).
 */
export function backoffDelay(attempt: number, jitter: number, timing: Pick<ClientTiming, 'baseMs' | 'maxMs'>): number {
  // 2 ** attempt overflows to Infinity long after the cap; Math.min keeps it finite.
  const ceiling = Math.min(timing.maxMs, timing.baseMs * 2 ** Math.max(0, attempt));
  const draw = Number.isFinite(jitter) ? Math.min(Math.max(jitter, 0), 1) : 0;
  return Math.round(ceiling / 2 + draw * (ceiling / 2));
}

/**
 * What a close means for the client:
 * - `retry`: reconnect after the backoff (1001 shutdown or stream lost, 1006 dropped, 1011, 1013
 *   try later, 4408, 1008 `slow consumer` — the protocol says resume — and every unknown code);
 * - `token`: 4401 — fetch a new token (`getToken`) and reconnect, if the client has a way to;
 * - `refused`: reconnecting cannot help (1008 policy: too many connections, bad frames, rate
 *   limit; 1002/1007/1009: the client broke the protocol or sent a frame too big — it would again);
 * - `closed`: 1000, a normal closure the server chose.
 */
export type CloseDisposition = 'retry' | 'token' | 'refused' | 'closed';

const RESUMABLE_POLICY_REASONS: ReadonlySet<string> = new Set([CloseReason.SLOW_CONSUMER, CloseReason.OUTGOING_OVERFLOW]);

/** What the close `code` (with its `reason`) means for the client: see {@link CloseDisposition}. */
export function closeDisposition(code: number, reason: string): CloseDisposition {
  if (code === CloseCode.NORMAL) return 'closed';
  if (code === CloseCode.UNAUTHORIZED) return 'token';
  if (code === CloseCode.POLICY) return RESUMABLE_POLICY_REASONS.has(reason) ? 'retry' : 'refused';
  if (code === 1002 || code === 1007 || code === CloseCode.TOO_BIG) return 'refused';
  return 'retry';
}
