/**
 * The handshake: credentials → token verification → backend readiness → accepted, or
 * rejected with a close code. Pure: verification and readiness are invoked promise actors
 * supplied by the embedding server through `.provide({ actors })`; time is two named delays.
 *
 * Close codes it can decide (docs/errors.md):
 *   4401 bad token, a user id outside the subject bound (`invalid subject`), a token already
 *        expired (`token expired`), or a first frame that is not `auth` when no upgrade credentials were sent
 *   4408 credentials not presented and verified within `authTimeout`
 *   1013 backend readiness failed or did not answer within `backendTimeout` — never 1011 (I9)
 */
import { assign, fromPromise, setup } from 'xstate';
import { decodeClientFrame } from '../src/protocol/codec.js';
import { CloseCode, CloseReason } from '../src/protocol/close-codes.js';
import { isValidSubject } from '../src/protocol/subject.js';

/** Input of {@link handshakeMachine}: the upgrade's token (if any) and the two timeouts. */
export interface HandshakeInput {
  /** Token taken from the upgrade request (header or subprotocol); undefined → expect an auth frame. */
  token: string | undefined;
  authTimeoutMs: number;
  backendTimeoutMs: number;
}

/** The handshake machine's context. */
export interface HandshakeContext extends HandshakeInput {
  userId: string | undefined;
  /** When the token expires (ms epoch) and how long from verification, if it expires. */
  expiry: TokenExpiry | undefined;
  closeCode: number | undefined;
  closeReason: string | undefined;
}

/** The first client frame, forwarded by the connection when the upgrade carried no token. */
export type HandshakeEvent = { type: 'handshake.authFrame'; data: string | null };

/** The handshake's verdict: the verified user, or the close code and reason to refuse with. */
export type HandshakeOutput =
  | { ok: true; userId: string; expiry: TokenExpiry | undefined }
  | { ok: false; code: number; reason: string };

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

/**
 * Credentials → `verifyToken` → backend readiness → `accepted` | `rejected` (4401, 4408 or
 * 1013). Runs as a child of the connection's `handshaking` state; `verifyToken` and
 * `checkBackend` are provided by the server. See docs/lifecycle.md.
 */
export const handshakeMachine = setup({
  types: {
    context: {} as HandshakeContext,
    input: {} as HandshakeInput,
    events: {} as HandshakeEvent,
    output: {} as HandshakeOutput,
  },
  actors: {
    // Defaults that fail loudly: an embedding server must provide both.
    verifyToken: fromPromise<VerifiedIdentity, { token: string }>(async () => {
      throw new Error('handshakeMachine: actor "verifyToken" was not provided');
    }),
    checkBackend: fromPromise<void, void>(async () => {
      throw new Error('handshakeMachine: actor "checkBackend" was not provided');
    }),
  },
  delays: {
    authTimeout: ({ context }) => context.authTimeoutMs,
    backendTimeout: ({ context }) => context.backendTimeoutMs,
  },
  guards: {
    identityAcceptable: (_, params: { identity: VerifiedIdentity }) => identityRejection(params.identity) === undefined,
    hasUpgradeToken: ({ context }) => context.token !== undefined,
    isAuthFrame: (_, params: { data: string | null }) => {
      const decoded = decodeClientFrame(params.data);
      return decoded.ok && decoded.frame.type === 'auth';
    },
  },
  actions: {
    takeFrameToken: assign({
      token: (_, params: { data: string | null }) => {
        const decoded = decodeClientFrame(params.data);
        return decoded.ok && decoded.frame.type === 'auth' ? decoded.frame.token : undefined;
      },
    }),
    reject: assign((_, params: { code: number; reason: string }) => ({
      closeCode: params.code,
      closeReason: params.reason,
    })),
  },
}).createMachine({
  id: 'handshake',
  context: ({ input }) => ({ ...input, userId: undefined, expiry: undefined, closeCode: undefined, closeReason: undefined }),
  initial: 'authenticating',
  states: {
    authenticating: {
      // One budget for presenting *and* verifying credentials: a hung verifier cannot hold a socket open.
      after: {
        authTimeout: {
          target: 'rejected',
          actions: { type: 'reject', params: { code: CloseCode.AUTH_TIMEOUT, reason: CloseReason.AUTH_TIMEOUT } },
        },
      },
      initial: 'awaitingCredentials',
      states: {
        awaitingCredentials: {
          always: { guard: 'hasUpgradeToken', target: 'verifying' },
          on: {
            'handshake.authFrame': [
              {
                guard: { type: 'isAuthFrame', params: ({ event }) => ({ data: event.data }) },
                target: 'verifying',
                actions: { type: 'takeFrameToken', params: ({ event }) => ({ data: event.data }) },
              },
              {
                target: '#handshake.rejected',
                actions: {
                  type: 'reject',
                  params: { code: CloseCode.UNAUTHORIZED, reason: CloseReason.AUTH_FRAME_EXPECTED },
                },
              },
            ],
          },
        },
        verifying: {
          invoke: {
            src: 'verifyToken',
            input: ({ context }) => ({ token: context.token ?? '' }),
            onDone: [
              {
                guard: { type: 'identityAcceptable', params: ({ event }) => ({ identity: event.output }) },
                target: '#handshake.checkingBackend',
                actions: assign({ userId: ({ event }) => event.output.userId, expiry: ({ event }) => expiryOf(event.output) }),
              },
              {
                target: '#handshake.rejected',
                actions: {
                  type: 'reject',
                  params: ({ event }) => ({
                    code: CloseCode.UNAUTHORIZED,
                    reason: identityRejection(event.output) ?? CloseReason.UNAUTHORIZED,
                  }),
                },
              },
            ],
            onError: {
              target: '#handshake.rejected',
              actions: { type: 'reject', params: { code: CloseCode.UNAUTHORIZED, reason: CloseReason.UNAUTHORIZED } },
            },
          },
        },
      },
    },
    checkingBackend: {
      invoke: {
        src: 'checkBackend',
        onDone: { target: 'accepted' },
        onError: {
          target: 'rejected',
          actions: {
            type: 'reject',
            params: { code: CloseCode.TRY_AGAIN_LATER, reason: CloseReason.BACKEND_NOT_READY },
          },
        },
      },
      after: {
        backendTimeout: {
          target: 'rejected',
          actions: {
            type: 'reject',
            params: { code: CloseCode.TRY_AGAIN_LATER, reason: CloseReason.BACKEND_TIMEOUT },
          },
        },
      },
    },
    accepted: { type: 'final' },
    rejected: { type: 'final' },
  },
  output: ({ context }) =>
    context.closeCode === undefined && context.userId !== undefined
      ? { ok: true, userId: context.userId, expiry: context.expiry }
      : {
          ok: false,
          code: context.closeCode ?? CloseCode.UNAUTHORIZED,
          reason: context.closeReason ?? CloseReason.UNAUTHORIZED,
        },
});
