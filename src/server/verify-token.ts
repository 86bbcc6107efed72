/** The token-verification function's type: its own file, so auth.ts and jwt.ts both import it without importing each other. */
import type { VerifiedIdentity } from '../../machines/handshake.js';

/**
 * Checks a token and returns the user it authenticates (and, optionally, `expiresAt`: the
 * connection closes 4401 `token expired` then unless refreshed); reject (throw) to close with 4401.
 */
export type VerifyToken = (token: string) => Promise<VerifiedIdentity>;
