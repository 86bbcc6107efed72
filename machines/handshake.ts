/**
 * The handshake's facts and rules: what token verification and backend readiness report, and
 * which verified identities are acceptable. The handshake itself is states of the connection
 * machine (`handshaking.authenticating.{awaitingCredentials,verifying}` → `handshaking.checkingBackend`,
 * machines/connection.ts): no child actor, no promise actor. The machine asks for verification
 * and readiness with the `verifyToken` and `checkBackend` effects; the adapter performs them and
 * reports the outcome with the events below; the machine decides.
 *
 * Close codes the handshake can decide (docs/errors.md):
 *   4401 bad token, a user id outside the subject bound (`invalid subject`), a token already
 *        expired (`token expired`), or a first frame that is not `auth` when no upgrade credentials were sent
 *   4408 credentials not presented and verified within `authTimeout`
 *   1013 backend readiness failed or did not answer within `backendTimeout` — never 1011 (I9)
 */
import { CloseReason } from '../src/protocol/close-codes.js';
import { isValidSubject } from '../src/protocol/subject.js';

/**
 * What a token verifier returns: the authenticated user id (bounded: see isValidSubject) and,
 * if the token expires, `expiresAt` (ms epoch; the connection closes 4401 `token expired`
 * then unless refreshed).
 */
export interface VerifiedIdentity {
  userId: string;
  expiresAt?: number | undefined;
  /**
   * Set by the server, not by verifiers: the wall clock (ms epoch) when the token was checked.
   * Machines read no clock; this fact turns `expiresAt` into a delay.
   */
  verifiedAt?: number | undefined;
}

/** A token's expiry as a connection enforces it: `expiresInMs` from verification (a named delay). */
export interface TokenExpiry { expiresAt: number; expiresInMs: number }

/**
 * The facts the adapter reports to a handshaking connection, each the answer to an effect the
 * machine asked for (`verifyToken`, `checkBackend`). An answer that arrives after the machine
 * left the state that asked (a timeout, a close) is ignored by the machine.
 */
export type HandshakeEvent =
  /** The verifier resolved: the identity as it answered, with `verifiedAt` (the server's wall clock). */
  | ({ type: 'auth.verified' } & VerifiedIdentity)
  /** The verifier threw or rejected; `reason` is its message (for logs and traces, never sent to the client). */
  | { type: 'auth.refused'; reason: string }
  /** The backend (and the shared scale-out backend, if any) is ready. */
  | { type: 'backend.ready' }
  /** The readiness check threw or rejected; `reason` is its message. */
  | { type: 'backend.unavailable'; reason: string };

/** The expiry of a verified identity, or undefined when it does not expire (or has no clock fact). */
export function expiryOf(identity: VerifiedIdentity): TokenExpiry | undefined {
  if (identity.expiresAt === undefined || identity.verifiedAt === undefined) return undefined;
  return { expiresAt: identity.expiresAt, expiresInMs: identity.expiresAt - identity.verifiedAt };
}

/** Why a verified identity is still refused (a close reason), or undefined when acceptable. */
export function identityRejection(identity: VerifiedIdentity): string | undefined {
  if (!isValidSubject(identity.userId)) return CloseReason.INVALID_SUBJECT;
  if (identity.expiresAt !== undefined && !Number.isFinite(identity.expiresAt)) return CloseReason.UNAUTHORIZED;
  const expiry = expiryOf(identity);
  if (expiry !== undefined && expiry.expiresInMs <= 0) return CloseReason.TOKEN_EXPIRED;
  return undefined;
}
