/**
 * The `jwt` option: JWTs verified by jose with a shared secret (HS*), a PEM public key
 * (RS*, PS*, ES*, EdDSA; SPKI or X.509) or a JWKS URL. Everything is checked when the server is
 * created (LOCKSTEP_ERR_INVALID_OPTION naming the field); the verifier then needs no I/O except
 * the JWKS fetches jose makes (cached, with a cooldown).
 *
 * jose is imported when a verifier is created (in the background) and awaited by its first
 * verification: `import 'lockstep'` does not load it (≈ 60 ms), and neither do servers that
 * use `verifyToken` or dev tokens.
 */
import { createPublicKey, createSecretKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { JWTVerifyOptions } from 'jose';
import { LockstepError } from '../protocol/errors.js';
import type { VerifyToken } from './verify-token.js';

/** JWT verification settings (`LockstepServerOptions.jwt`); give exactly one of secret, publicKey, jwksUrl. */
export interface JwtOptions {
  /** Shared secret for HS256/384/512 (non-empty). */
  secret?: string;
  /** A PEM public key (`-----BEGIN PUBLIC KEY-----`, SPKI) or certificate (`-----BEGIN CERTIFICATE-----`). */
  publicKey?: string;
  /** A JWKS endpoint (https, or http on loopback only); keys are matched by `kid`/`alg`. */
  jwksUrl?: string;
  /** Accepted `alg` values; default: every algorithm the key kind supports. Must match the key kind. */
  algorithms?: string[];
  /** Required `iss` (one of). */
  issuer?: string | string[];
  /** Required `aud` (one of). */
  audience?: string | string[];
  /** Seconds of clock skew tolerated on `exp`/`nbf`/`iat`; the connection also closes this much after `exp`. Default 0. */
  clockToleranceSec?: number;
}

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
/** One import for every verifier of the process. */
const loadJose = (): Promise<Jose> => (jose ??= import('jose'));

const HMAC = ['HS256', 'HS384', 'HS512'];
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const RSA_PSS = ['PS256', 'PS384', 'PS512'];
const EC_BY_CURVE: Record<string, string[]> = { 'prime256v1': ['ES256'], 'secp384r1': ['ES384'], 'secp521r1': ['ES512'] };
const EDDSA = ['EdDSA', 'Ed25519'];
const ASYMMETRIC = [...RSA, 'ES256', 'ES384', 'ES512', ...EDDSA];
const KNOWN_FIELDS = ['secret', 'publicKey', 'jwksUrl', 'algorithms', 'issuer', 'audience', 'clockToleranceSec'];

function invalid(message: string): never {
  throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', message);
}

function publicKeyOf(pem: string): KeyObject {
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(pem).publicKey;
    if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('not a PEM public key or certificate');
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    return invalid(`jwt.publicKey must be a PEM public key (BEGIN PUBLIC KEY, SPKI) or certificate (BEGIN CERTIFICATE): ${(error as Error).message}`);
  }
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': return RSA;
    case 'rsa-pss': return RSA_PSS;
    case 'ec': return EC_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? [];
    case 'ed25519':
    case 'ed448': return EDDSA;
    default: return [];
  }
}

function stringOrList(name: string, value: unknown): string | string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  if (Array.isArray(value) && value.length > 0 && value.every((entry) => typeof entry === 'string' && entry.length > 0)) {
    return value as string[];
  }
  return invalid(`jwt.${name} must be a non-empty string or a non-empty array of them, got ${JSON.stringify(value)}`);
}

function jwksUrlOf(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(`jwt.jwksUrl must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    invalid(`jwt.jwksUrl must be https (http only on loopback), got ${url.protocol}//${url.host}`);
  }
  return url;
}

/** Validates `jwt` completely and returns its verifier; throws LOCKSTEP_ERR_INVALID_OPTION naming the field. */
export function jwtOptionsVerifier(jwt: JwtOptions): VerifyToken {
  if (typeof jwt !== 'object' || jwt === null || Array.isArray(jwt)) invalid(`jwt must be an object, got ${JSON.stringify(jwt)}`);
  for (const field of Object.keys(jwt)) {
    if (!KNOWN_FIELDS.includes(field)) invalid(`jwt.${field} is not a known field (${KNOWN_FIELDS.join(', ')})`);
  }
  const sources = (['secret', 'publicKey', 'jwksUrl'] as const).filter((field) => jwt[field] !== undefined);
  if (sources.length !== 1) {
    invalid(`jwt needs exactly one key source of secret, publicKey, jwksUrl; got ${sources.length === 0 ? 'none' : sources.join(' and ')}`);
  }
  const source = sources[0]!;
  const value = jwt[source];
  if (typeof value !== 'string' || value.length === 0) invalid(`jwt.${source} must be a non-empty string`);

  let key: KeyObject | URL;
  let supported: string[];
  if (source === 'secret') {
    key = createSecretKey(Buffer.from(value, 'utf8'));
    supported = HMAC;
  } else if (source === 'publicKey') {
    key = publicKeyOf(value);
    supported = algorithmsFor(key);
    if (supported.length === 0) invalid(`jwt.publicKey has an unsupported key type (${key.asymmetricKeyType ?? 'unknown'}); use RSA, EC P-256/384/521 or Ed25519/Ed448`);
  } else {
    key = jwksUrlOf(value); // the key set is made by the first verification, once jose is loaded
    supported = ASYMMETRIC;
  }

  const algorithms = jwt.algorithms ?? (source === 'secret' ? ['HS256'] : supported);
  if (!Array.isArray(algorithms) || algorithms.length === 0) invalid('jwt.algorithms must be a non-empty array');
  for (const alg of algorithms) {
    if (!supported.includes(alg)) {
      invalid(`jwt.algorithms: ${JSON.stringify(alg)} does not match the key of jwt.${source} (expected one of ${supported.join(', ')})`);
    }
  }
  const issuer = stringOrList('issuer', jwt.issuer);
  const audience = stringOrList('audience', jwt.audience);
  const tolerance = jwt.clockToleranceSec ?? 0;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    invalid(`jwt.clockToleranceSec must be a number ≥ 0, got ${JSON.stringify(jwt.clockToleranceSec)}`);
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    requiredClaims: ['sub', 'exp'],
    clockTolerance: tolerance,
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
  };
  const loading = loadJose();
  loading.catch(() => {}); // a failed import is reported by each verification, which awaits it
  let keySet: ReturnType<Jose['createRemoteJWKSet']> | undefined;
  return async (token) => {
    const { createRemoteJWKSet, jwtVerify } = await loading;
    // jose overloads jwtVerify for a key and for a key set: the branch picks the overload.
    const { payload } = key instanceof URL
      ? await jwtVerify(token, (keySet ??= createRemoteJWKSet(key)), verifyOptions)
      : await jwtVerify(token, key, verifyOptions);
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new Error('JWT has no subject');
    // exp is required above; the connection closes at exp (+ tolerance) unless refreshed.
    return { userId: payload.sub, expiresAt: ((payload.exp ?? 0) + tolerance) * 1000 };
  };
}
