/**
 * Token verification. With a JWT secret: HS256 JWTs verified by jose (other algorithms: jwt.ts) (`sub` is the user id,
 * `exp` enforced). Without one, dev mode: the token is the user id itself.
 */
import { jwtOptionsVerifier } from './jwt.js';
import type { VerifyToken } from './verify-token.js';
export type { VerifyToken } from './verify-token.js';

/** What a dev token (= user id) may contain. */
export const DEV_USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;

/** Dev mode: the token is the user id. Never expose a server that uses it. */
export const verifyDevToken: VerifyToken = async (token) => {
  if (!DEV_USER_ID.test(token)) throw new Error('dev token must be 1–128 characters of [A-Za-z0-9_.@-]');
  return { userId: token };
};

/**
 * HS256 JWTs signed with `secret` (the `jwtSecret` shorthand of `jwt: { secret }`): `sub` is
 * the user id, `exp` is required and enforced for the connection's lifetime.
 */
export function jwtVerifier(secret: string): VerifyToken {
  return jwtOptionsVerifier({ secret });
}
