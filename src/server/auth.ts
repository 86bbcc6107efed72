/**
 * Token verification. With a JWT secret: HS256 JWTs verified by jose (`sub` is the user id,
 * `exp` enforced). Without one, dev mode: the token is the user id itself.
 */
import { jwtVerify } from 'jose';
import type { VerifiedIdentity } from '../../machines/handshake.js';

/** Checks a token and returns the user it authenticates; reject (throw) to close with 4401. */
export type VerifyToken = (token: string) => Promise<VerifiedIdentity>;

/** What a dev token (= user id) may contain. */
export const DEV_USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;

/** Dev mode: the token is the user id. Never expose a server that uses it. */
export const verifyDevToken: VerifyToken = async (token) => {
  if (!DEV_USER_ID.test(token)) throw new Error('dev token must be 1–128 characters of [A-Za-z0-9_.@-]');
  return { userId: token };
};

/** HS256 JWTs signed with `secret`: `sub` is the user id, `exp` is required and enforced. */
export function jwtVerifier(secret: string): VerifyToken {
  const key = new TextEncoder().encode(secret);
  return async (token) => {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new Error('JWT has no subject');
    return { userId: payload.sub };
  };
}
