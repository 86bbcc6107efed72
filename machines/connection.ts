/**
 * One actor per WebSocket connection:
 *
 *   handshaking ──accepted──▶ joining ──stream.joined──▶ ready ──▶ closing ──▶ closed
 *        │ rejected(code)                                  │ no pong,   ▲
 *        └──────────────────────────────▶ closing          │ send buffer over limit
 *                                                          └──▶ terminating
 *
 * Frames that arrive before `ready` are held in order (at most `maxEarlyFrames` and
 * `maxEarlyBytes`, else 1008; at most `maxEarlyBytesTotal` server-wide, else 1013) and re-raised, in order, on entry to `ready`, right after the `ready` frame: the handler
 * can never see a frame before the handshake is accepted (I1) and never loses one (I3).
 *
 * Effects are named here with no-op defaults and supplied by the adapter (`.provide`):
 * sendFrame, closeSocket, terminateSocket, ping, invokeHandler, spendUserToken, joinStream,
 * leaveStream. Facts come with the events (connection-bounds.ts SocketFacts): bytes buffered
 * on the socket, bytes held server-wide, the user's shared tokens; the guards decide.
 * The handshake is states of this machine (`handshaking.*`): it asks for token verification and
 * backend readiness with the `verifyToken` / `checkBackend` effects and decides on the facts the
 * adapter reports back (`auth.verified`, `auth.refused`, `backend.ready`, `backend.unavailable`).
 * Every timeout is a named delay: authTimeout/backendTimeout (handshaking),
 * joinTimeout (1013 `stream join timeout`), heartbeat, closeTimeout, tokenExpiry (4401 `token
 * expired` unless an `auth` frame refreshed it).
 */
import { assertEvent, assign, raise, setup } from 'xstate';
import { expiryOf, identityRejection, type HandshakeEvent, type TokenExpiry, type VerifiedIdentity } from './handshake.js';
import { decodeClientFrame } from '../src/protocol/codec.js';
import { decodedFrame } from './frame-decoding.js';
import { ackFrameOf } from './ack-frame.js';
import { refusalFrame } from './refusal-frame.js';
import { earlyRefusal, heartbeatNonce, heldFrameBytes, lagAfter, lagFrom, NO_LAG, outgoingOverLimit, type SocketFacts, type StreamLag } from './connection-bounds.js';
import {
  countersAfterMessage,
  countersAfterRefusedFrame,
  countersAfterValidFrame,
  FRESH_FRAME_COUNTERS,
  messageRefusal,
  runIdOf,
  type FrameCounters,
} from './frame-counters.js';
import { CloseCode, CloseReason } from '../src/protocol/close-codes.js';
import type { MessageFrame, ResumeFailure, ResumeRequest, ServerFrame, StreamEvent } from '../src/protocol/frames.js';

/** Per-connection timeouts and bounds (`LockstepServerOptions.limits`); see docs/protocol.md. */
export interface ConnectionLimits {
  authTimeoutMs: number;
  backendTimeoutMs: number;
  /** How long `joining` waits for the delivery layer's answer (a frozen Redis never answers): then 1013. */
  joinTimeoutMs: number;
  heartbeatMs: number;
  closeTimeoutMs: number;
  maxEarlyFrames: number;
  maxBadFrames: number;
  /** Messages per second a connection may send on average (token bucket refill rate). */
  messageRate: number;
  /** Messages a connection may send in a burst (token bucket size). */
  messageBurst: number;
  /** Socket send buffer (bytes) at which the connection stops writing events: `congested`. */
  highWaterMarkBytes: number;
  /** Events a congested connection may fall behind the log before it is closed 1008. */
  maxLagEvents: number;
  /** Hard bound on the socket's unsent bytes, every frame kind: reached → 1008 `send buffer over limit`. */
  maxOutgoingBytes: number;
  /** Bytes of early frames one connection may hold before `ready` (else 1008 early overflow). */
  maxEarlyBytes: number;
  /** Bytes of early frames the whole server may hold (else 1013 `early-frame budget exhausted`). */
  maxEarlyBytesTotal: number;
  /** Messages per second one user may send on average, all its tabs together. */
  userMessageRate: number;
  /** Messages one user may send in a burst, all its tabs together. */
  userMessageBurst: number;
}

/** The limits used for every key of `limits` that is not given. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  authTimeoutMs: 5_000,
  backendTimeoutMs: 10_000,
  joinTimeoutMs: 10_000,
  heartbeatMs: 25_000,
  closeTimeoutMs: 5_000,
  maxEarlyFrames: 256,
  maxBadFrames: 20,
  messageRate: 20,
  messageBurst: 40,
  highWaterMarkBytes: 1024 * 1024,
  maxLagEvents: 500,
  maxOutgoingBytes: 4 * 1024 * 1024,
  maxEarlyBytes: 1024 * 1024,
  maxEarlyBytesTotal: 64 * 1024 * 1024,
  userMessageRate: 40,
  userMessageBurst: 80,
};

/** Input of {@link connectionMachine}: one per WebSocket, from the upgrade request. */
export interface ConnectionInput {
  connectionId: string;
  /** Token from the upgrade request; undefined means the first frame must be `auth`. */
  token: string | undefined;
  /** `?epoch&lastSeq` from the upgrade URL, if the client asked to resume. */
  resume?: ResumeRequest | undefined;
  limits: ConnectionLimits;
  /** Unguessable seed of the heartbeat ping payloads (the server draws one per socket); default: the connection id. */
  pingSeed?: string | undefined;
}

/**
 * How the connection joined its user's stream: asked for at the upgrade (`resume`), answered
 * by `stream.joined`. Set once; grouped so the per-frame context copies stay small.
 */
export interface StreamStart {
  /** `?epoch&lastSeq` from the upgrade URL, if the client asked to resume. */
  resume: ResumeRequest | undefined;
  epoch: string | undefined;
  resumed: boolean;
  resumeFailure: ResumeFailure | undefined;
  /** Missed events received with `stream.joined`, sent right after the ready frame. */
  replay: StreamEvent[];
}

/** Why and how the connection ended: set once, when it starts closing or the socket goes. */
export interface CloseFacts {
  /** The code the server closes with (undefined: the server did not start the close). */
  code: number | undefined;
  reason: string | undefined;
  /** The code the peer's close carried (`socket.close`). */
  peerCode: number | undefined;
  socketError: string | undefined;
}

/**
 * The connection machine's context: identity, held frames, per-frame counters, stream
 * position, close facts. Fields that change per frame are top-level; facts set once are
 * grouped (`stream`, `close`): every `assign` copies the top level, and XState's copy gets
 * several times slower past about 20 fields (measured: bench/README.md).
 */
export interface ConnectionContext {
  connectionId: string;
  limits: ConnectionLimits;
  /** The token to verify: the upgrade's, or the first frame's (`auth`) when the upgrade had none. */
  token: string | undefined;
  userId: string | undefined;
  /** Raw client frames held before `ready`, in arrival order (null = binary). */
  early: Array<string | null>;
  /** Bytes of the frames in `early` (bounded by maxEarlyBytes; the server sums it for maxEarlyBytesTotal). */
  earlyBytes: number;
  /** How many frames were ever held before `ready` (for metrics). */
  heldFrames: number;
  /**
   * The message bucket, run count and bad-frame count (frame-counters.ts). While the frame path
   * is installed it holds the current counters and hands them over with each frame it gives
   * the machine (`socket.frame` `counters`); this copy is then as of the last frame the machine handled.
   */
  frames: FrameCounters;
  /** Seed and count of heartbeat pings: the pong must carry heartbeatNonce(pingSeed, pingsSent). */
  pingSeed: string;
  pingsSent: number;
  /** Seq of the last event written to the socket. */
  lastSeq: number;
  /** While congested: how far behind, in entries a catch-up will read (connection-bounds.ts). */
  lag: StreamLag;
  /** The token's expiry, counted from its verification; undefined: the token does not expire. */
  expiry: TokenExpiry | undefined;
  stream: StreamStart;
  close: CloseFacts;
}

/** The delivery layer's answer to `joinStream`. */
export interface StreamJoined {
  type: 'stream.joined';
  epoch: string;
  lastSeq: number;
  resumed: boolean;
  reason?: ResumeFailure;
  /** Missed events to send right after `ready`, before any live event (I5). */
  replay: StreamEvent[];
  /** The server's clock when the join was answered: the time fact of the frames held until `ready`. */
  atMs?: number;
}

/** `joinStream` refused: the user already holds `maxConnectionsPerUser` connections. */
export interface StreamRefused { type: 'stream.refused'; reason: string }

/** Everything the adapter and the delivery layer send to a connection actor (facts, not decisions). */
export type ConnectionEvent =
  /**
   * `counters`: the frame path's counters, when the path handed this frame over
   * (connection-data-path.ts); the machine decides from them, not from its own copy.
   */
  | ({ type: 'socket.frame'; data: string | null; counters?: FrameCounters } & SocketFacts)
  | { type: 'socket.close'; code: number; reason: string }
  | { type: 'socket.error'; message: string; closeCode: number }
  /** `payload`: the pong's application data (a heartbeat pong echoes the ping's nonce). */
  | { type: 'socket.pong'; payload?: string }
  | StreamJoined
  | StreamRefused
  /** The answers to the handshake's `verifyToken` and `checkBackend` effects (machines/handshake.ts). */
  | HandshakeEvent
  /**
   * `bufferedBytes`: the socket's send buffer when the event was delivered (a fact, not a
   * decision). `writtenSeq`: the last seq the event path wrote, when the path handed this
   * event over (connection-data-path.ts); the machine's own `lastSeq` catches up from it.
   */
  | { type: 'stream.event'; event: StreamEvent; bufferedBytes: number; writtenSeq?: number }
  /** The socket flushed what was buffered while congested. */
  | { type: 'socket.drain' }
  /** The log's events after the last one sent, read for catch-up; undefined: retention lost some. */
  | { type: 'stream.caughtUp'; events: StreamEvent[] | undefined }
  | { type: 'message.accepted'; id: string; runId: string; duplicate: boolean; bufferedBytes?: number }
  /**
   * The server's answer to `cancelRun` when the run is not open for this user (ended, unknown,
   * another user's): the client is told with an error frame. A cancelled run needs no answer:
   * its `agent_error` reaches every tab of the user.
   */
  | { type: 'cancel.refused'; runId: string; bufferedBytes?: number }
  /**
   * The server's answer to `answerApproval` when no approval waits for this answer (answered
   * first by another tab, timed out, unknown, another user's): the client is told with an
   * error frame. An accepted answer needs none: its `approval_resolved` reaches every tab.
   */
  | { type: 'approval.refused'; runId: string; toolCallId: string; bufferedBytes?: number }
  /** Raised by the machine itself after the frames held until `ready`: every one of them was handled. */
  | { type: 'early.released' }
  /** Raised by the machine itself: an `auth` frame after ready asks to refresh the token. */
  | { type: 'auth.refresh'; token: string }
  /**
   * The adapter's answer to `verifyRefresh` (an `auth` frame after ready): the identity the new
   * token stands for. Only `ready.tokenRefresh.verifying` listens; an answer after it was left is ignored.
   */
  | ({ type: 'refresh.verified' } & VerifiedIdentity)
  /** The adapter's answer to `verifyRefresh`: the verifier rejected the new token (or threw). */
  | { type: 'refresh.refused'; reason: string }
  /** Raised by the machine itself: a refresh was accepted; the expiry timer restarts. */
  | { type: 'auth.renewed' }
  | { type: 'server.shutdown' }
  /**
   * The delivery layer can no longer hand this connection a gap-free stream (its log started a
   * new epoch, dropped events it had not seen, or failed): 1001, and the resume says why.
   */
  | { type: 'stream.lost' };

/** Parameters of the `invokeHandler` effect: one accepted `message` frame, with its run id. */
export interface HandlerInvocation {
  connectionId: string;
  userId: string;
  runId: string;
  message: MessageFrame;
}

/** The counters a frame is judged by: the path's, if it handed the frame over, else the machine's own. */
function countersOf(context: ConnectionContext, event: ConnectionEvent): FrameCounters {
  return event.type === 'socket.frame' && event.counters !== undefined ? event.counters : context.frames;
}

/**
 * Why a frame is refused when ready, or undefined: not decodable, or a message over the
 * rate limit. Refused frames get an error frame and count towards `maxBadFrames`.
 */
function frameRejection(
  context: ConnectionContext,
  event: ConnectionEvent,
): { code: string; message: string; ref?: string; reason: string } | undefined {
  if (event.type !== 'socket.frame') return undefined;
  const decoded = decodedFrame(event);
  if (!decoded.ok) {
    const { code, message } = decoded;
    return { code, message, ...(decoded.ref === undefined ? {} : { ref: decoded.ref }), reason: CloseReason.BAD_FRAMES };
  }
  if (decoded.frame.type !== 'message') return undefined;
  const refusal = messageRefusal(countersOf(context, event), event, context.limits);
  if (refusal === 'user') {
    return {
      code: 'LOCKSTEP_E_RATE_LIMITED',
      message: `more than ${context.limits.userMessageBurst} messages in a burst or ${context.limits.userMessageRate}/s on average from this user's connections together; this message was not accepted, send it again later`,
      ref: decoded.frame.id,
      reason: CloseReason.RATE_LIMITED,
    };
  }
  if (refusal === 'connection') {
    return {
      code: 'LOCKSTEP_E_RATE_LIMITED',
      message: `more than ${context.limits.messageBurst} messages in a burst or ${context.limits.messageRate}/s on average; this message was not accepted, send it again later`,
      ref: decoded.frame.id,
      reason: CloseReason.RATE_LIMITED,
    };
  }
  return undefined;
}

/** The payload a pong must carry to answer the current heartbeat ping (what a conforming peer echoes). */
export function heartbeatPongPayload(context: Pick<ConnectionContext, 'pingSeed' | 'pingsSent'>): string {
  return heartbeatNonce(context.pingSeed, context.pingsSent);
}
/** The longest delay a timer can hold (setTimeout's 32-bit bound); longer expiries wait in steps. */
export const MAX_TIMER_MS = 2_147_483_647;

const authError = (code: 'LOCKSTEP_E_INVALID_TOKEN' | 'LOCKSTEP_E_SUBJECT_MISMATCH' | 'LOCKSTEP_E_ALREADY_AUTHENTICATED', message: string) =>
  ({ type: 'sendFrame', params: { frame: { type: 'error', code, message } } }) as const;

const closeWith = (code: number, reason: string) =>
  ({ type: 'setClose', params: { code, reason } }) as const;

const earlyRefusalOf = (context: ConnectionContext, event: ConnectionEvent) => {
  if (event.type !== 'socket.frame') return undefined;
  return earlyRefusal({ frames: context.early.length, bytes: context.earlyBytes }, heldFrameBytes(event.data, event), event, context.limits);
};

/** The close for an early frame that cannot be held: this connection's bound (1008) or the server's budget (1013). */
const closeForEarlyOverflow = {
  type: 'setClose',
  params: ({ context, event }: { context: ConnectionContext; event: ConnectionEvent }) =>
    earlyRefusalOf(context, event) === 'server'
      ? { code: CloseCode.TRY_AGAIN_LATER, reason: CloseReason.EARLY_BUDGET }
      : { code: CloseCode.POLICY, reason: CloseReason.EARLY_OVERFLOW },
} as const;

/**
 * The peer does not read: every kind of frame waits for it, so the connection ends (I8). It is
 * terminated at once, not closed: a close frame would wait behind the unread bytes, and the
 * buffers are released now. Metrics and logs record 1008 `send buffer over limit`.
 */
const outgoingOverflow = {
  guard: 'outgoingOverLimit',
  target: '#connection.terminating',
  actions: closeWith(CloseCode.POLICY, CloseReason.OUTGOING_OVERFLOW),
} as const;

/** The stream this connection joined is gone (stream-hub.ts): close 1001 so the client resumes. */
const streamLost = {
  'stream.lost': {
    target: '#connection.closing',
    actions: closeWith(CloseCode.GOING_AWAY, CloseReason.STREAM_LOST),
  },
} as const;

/** Transitions shared by every state in which the socket is still open for writing. */
const whileOpen = {
  // ws has already started closing (e.g. 1009 for an oversized frame); record why and wait.
  'socket.error': { target: '#connection.closing', actions: 'recordSocketError' },
  'server.shutdown': {
    target: '#connection.closing',
    actions: closeWith(CloseCode.GOING_AWAY, CloseReason.SHUTDOWN),
  },
} as const;

const connectionBase = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
  },
  delays: {
    // One budget for presenting *and* verifying credentials: a hung verifier cannot hold a socket open.
    authTimeout: ({ context }) => context.limits.authTimeoutMs,
    backendTimeout: ({ context }) => context.limits.backendTimeoutMs,
    heartbeat: ({ context }) => context.limits.heartbeatMs,
    closeTimeout: ({ context }) => context.limits.closeTimeoutMs,
    joinTimeout: ({ context }) => context.limits.joinTimeoutMs,
    tokenExpiry: ({ context }) => Math.min(MAX_TIMER_MS, Math.max(0, context.expiry?.expiresInMs ?? 0)),
  },
  guards: {
    hasToken: ({ context }) => context.token !== undefined,
    isAuthFrame: ({ event }) => {
      if (event.type !== 'socket.frame') return false;
      const decoded = decodeClientFrame(event.data);
      return decoded.ok && decoded.frame.type === 'auth';
    },
    identityAcceptable: ({ event }) => event.type === 'auth.verified' && identityRejection(event) === undefined,
    earlyBufferFull: ({ context, event }) => earlyRefusalOf(context, event) !== undefined,
    outgoingOverLimit: ({ context, event }) =>
      (event.type === 'socket.frame' || event.type === 'message.accepted' || event.type === 'stream.event' || event.type === 'cancel.refused' || event.type === 'approval.refused') &&
      outgoingOverLimit(event, context.limits.maxOutgoingBytes),
    pongAnswersPing: ({ context, event }) =>
      event.type === 'socket.pong' && event.payload === heartbeatNonce(context.pingSeed, context.pingsSent),
    isRejectedFrame: ({ context, event }) => frameRejection(context, event) !== undefined,
    isLastRejectedFrameAllowed: ({ context, event }) =>
      frameRejection(context, event) !== undefined && countersOf(context, event).badFrames + 1 >= context.limits.maxBadFrames,
    socketCongested: ({ context, event }) =>
      event.type === 'stream.event' && event.bufferedBytes >= context.limits.highWaterMarkBytes,
    lagTooLarge: ({ context, event }) =>
      event.type === 'stream.event' && lagAfter(context.lag, event.event).entries > context.limits.maxLagEvents,
    catchUpLost: ({ event }) => event.type === 'stream.caughtUp' && event.events === undefined,

    tokenExpires: ({ context }) => context.expiry !== undefined,
    expiryReached: ({ context }) => (context.expiry?.expiresInMs ?? 0) <= 0,
    refreshRejected: (_, params: { identity: VerifiedIdentity }) => identityRejection(params.identity) !== undefined,
    subjectChanged: ({ context }, params: { identity: VerifiedIdentity }) => params.identity.userId !== context.userId,
  },
  actions: {
    // ── effects, provided by the adapter ──
    sendFrame: (_, _params: { frame: ServerFrame }) => {},
    closeSocket: (_, _params: { code: number; reason: string }) => {},
    terminateSocket: () => {},
    /** A WebSocket ping whose payload is `payload` (the heartbeat nonce). */
    ping: (_, _params: { payload: string }) => {},
    /** Takes one token from the user's shared bucket (an accepted message). */
    spendUserToken: (_, _params: { userId: string }) => {},
    invokeHandler: (_, _params: HandlerInvocation) => {},
    /** Stops the user's open run `runId` (a `cancel` frame); must answer `cancel.refused` when there is none. */
    cancelRun: (_, _params: { userId: string; runId: string }) => {},
    /** Answers the user's pending approval (an `approve` frame); must answer `approval.refused` when none waits. */
    answerApproval: (_, _params: { userId: string; runId: string; toolCallId: string; approved: boolean; data: unknown }) => {},
    /** Must answer `socket.drain` once everything buffered so far is flushed. */
    watchDrain: () => {},
    /**
     * Data path (connection-data-path.ts): while installed, the adapter writes the steady case
     * itself and hands the machine only what the path's rule leaves to it. No-ops here: a
     * machine without a data path receives every event, exactly as the path would hand them.
     */
    installEventPath: (_, _params: { lastSeq: number }) => {},
    removeEventPath: () => {},
    installAckPath: () => {},
    removeAckPath: () => {},
    /** Entry of `ready`: the path may handle steady `message` frames, continuing from `counters`. */
    installFramePath: (_, _params: { connectionId: string; userId: string; counters: FrameCounters }) => {},
    removeFramePath: () => {},
    /** The machine handled a frame: the path continues from the counters it left. */
    syncFramePath: (_, _params: { counters: FrameCounters }) => {},
    /** Must answer `stream.caughtUp` with the user's events after `afterSeq`. */
    readFromLog: (_, _params: { userId: string; afterSeq: number }) => {},
    joinStream: (_, _params: { connectionId: string; userId: string; resume: ResumeRequest | undefined }) => {},
    leaveStream: (_, _params: { connectionId: string }) => {},
    /** The handshake asks: must answer `auth.verified` (with `verifiedAt`) or `auth.refused`, later, never inside this transition. */
    verifyToken: (_, _params: { token: string }) => {},
    /** A token refresh asks: must answer `refresh.verified` (with `verifiedAt`) or `refresh.refused`, later, never inside this transition. */
    verifyRefresh: (_, _params: { token: string }) => {},
    /** The handshake asks: must answer `backend.ready` or `backend.unavailable`, later, never inside this transition. */
    checkBackend: () => {},

    // ── context updates ──
    setClose: assign(({ context }, params: { code: number; reason: string }) => ({
      close: Object.assign({}, context.close, { code: params.code, reason: params.reason }),
    })),
    recordSocketError: assign(({ context, event }) => {
      assertEvent(event, 'socket.error');
      return { close: Object.assign({}, context.close, { socketError: event.message, code: event.closeCode, reason: event.message }) };
    }),
    raiseRenewed: raise({ type: 'auth.renewed' }),
    takeFrameToken: assign({
      token: ({ event }) => {
        assertEvent(event, 'socket.frame');
        const decoded = decodeClientFrame(event.data);
        return decoded.ok && decoded.frame.type === 'auth' ? decoded.frame.token : undefined;
      },
    }),
    takeIdentity: assign(({ event }) => {
      assertEvent(event, 'auth.verified');
      return { userId: event.userId, expiry: expiryOf(event) };
    }),
    refuseIdentity: assign(({ context, event }) => {
      assertEvent(event, 'auth.verified');
      return { close: Object.assign({}, context.close, { code: CloseCode.UNAUTHORIZED, reason: identityRejection(event) ?? CloseReason.UNAUTHORIZED }) };
    }),
    // An event the path handed over: the path wrote everything up to `writtenSeq`.
    catchUpWithPath: assign(({ context, event }) => {
      assertEvent(event, 'stream.event');
      return event.writtenSeq !== undefined && event.writtenSeq > context.lastSeq ? { lastSeq: event.writtenSeq } : {};
    }),
    holdFrame: assign(({ context, event }) => {
      assertEvent(event, 'socket.frame');
      return {
        early: [...context.early, event.data],
        earlyBytes: context.earlyBytes + heldFrameBytes(event.data, event),
        heldFrames: context.heldFrames + 1,
      };
    }),
  },
});

// Actions composed of the effects above; defined on the typed base so `enqueue` knows them.
const connectionSetup = connectionBase.extend({
  actions: {
    sendCaughtUp: connectionBase.enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'stream.caughtUp');
      let lastSeq = context.lastSeq;
      for (const stored of event.events ?? []) {
        if (stored.seq <= lastSeq) continue;
        enqueue({ type: 'sendFrame', params: { frame: { type: 'event', ...stored } } });
        lastSeq = stored.seq;
      }
      enqueue.assign({ lastSeq });
    }),
    // Missed events go out before any live one: live events are still queued behind us.
    sendReplay: connectionBase.enqueueActions(({ context, enqueue }) => {
      const { replay } = context.stream;
      for (const event of replay) enqueue({ type: 'sendFrame', params: { frame: { type: 'event', ...event } } });
      if (replay.length > 0) enqueue.assign({ stream: Object.assign({}, context.stream, { replay: [] }) });
    }),
    // Re-raise held frames: raised events run before any later socket event, so order holds.
    // The ack path takes over once they are all handled: their acks reach the machine as they
    // do without a path, queued behind the frames released with them.
    releaseEarlyFrames: connectionBase.enqueueActions(({ context, event, enqueue }) => {
      if (context.early.length === 0) {
        enqueue('installAckPath');
        return;
      }
      // Handled as of now (the join's answer): the connection's bucket refills from that time.
      const atMs = event.type === 'stream.joined' ? event.atMs : undefined;
      for (const data of context.early) enqueue.raise(atMs === undefined ? { type: 'socket.frame', data } : { type: 'socket.frame', data, atMs });
      enqueue.raise({ type: 'early.released' });
      enqueue.assign({ early: [], earlyBytes: 0 });
    }),
    replyWithFrameError: connectionBase.enqueueActions(({ context, event, enqueue }) => {
      const rejection = frameRejection(context, event);
      if (rejection === undefined) return;
      const { reason: _reason, ...error } = rejection;
      enqueue({ type: 'sendFrame', params: { frame: { type: 'error', ...error } } });
      const frames = countersAfterRefusedFrame(countersOf(context, event), event.type === 'socket.frame' ? event.atMs : undefined);
      enqueue.assign({ frames });
      enqueue({ type: 'syncFramePath', params: { counters: frames } });
    }),
    closeForRejectedFrames: connectionBase.enqueueActions(({ context, event, enqueue }) => {
      const rejection = frameRejection(context, event);
      enqueue({ type: 'setClose', params: { code: CloseCode.POLICY, reason: rejection?.reason ?? CloseReason.BAD_FRAMES } });
    }),
    dispatchFrame: connectionBase.enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'socket.frame');
      const decoded = decodedFrame(event);
      if (!decoded.ok) return;
      const frame = decoded.frame;
      const before = countersOf(context, event);
      const frames = frame.type === 'message' ? countersAfterMessage(before, event.atMs, context.limits) : countersAfterValidFrame(before);
      if (frames !== context.frames) enqueue.assign({ frames });
      enqueue({ type: 'syncFramePath', params: { counters: frames } });
      switch (frame.type) {
        case 'message': {
          // Deterministic and unique: connection ids are unique, run numbers grow per connection.
          const runId = runIdOf(context.connectionId, frames.runCount);
          enqueue({ type: 'spendUserToken', params: { userId: context.userId ?? '' } });
          // The server deduplicates by message id and answers `message.accepted` at once (the
          // ack), before the handler starts, so the ack precedes every event of the run.
          enqueue({
            type: 'invokeHandler',
            params: { connectionId: context.connectionId, userId: context.userId ?? '', runId, message: frame },
          });
          return;
        }
        case 'ping':
          enqueue({
            type: 'sendFrame',
            params: { frame: frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id } },
          });
          return;
        case 'auth':
          // A token refresh: verified in the tokenRefresh region while other frames keep flowing.
          enqueue.raise({ type: 'auth.refresh', token: frame.token });
          return;
        case 'cancel':
          enqueue({ type: 'cancelRun', params: { userId: context.userId ?? '', runId: frame.runId } });
          return;
        case 'approve':
          enqueue({
            type: 'answerApproval',
            params: { userId: context.userId ?? '', runId: frame.runId, toolCallId: frame.toolCallId, approved: frame.approved, data: frame.data },
          });
          return;
      }
    }),
  },
});

/**
 * One actor per WebSocket connection: `handshaking` → `joining` → `ready` → `closing` →
 * `closed` (or `terminating`). Holds frames that arrive before `ready` and releases them in
 * order after the `ready` frame (I1, I3). Effects are no-ops here; the server provides them.
 * Every state, what moves it and what the client sees: docs/lifecycle.md.
 */
export const connectionMachine = connectionSetup.createMachine({
  id: 'connection',
  context: ({ input }) => ({
    connectionId: input.connectionId,
    limits: input.limits,
    token: input.token,
    userId: undefined,
    early: [],
    earlyBytes: 0,
    heldFrames: 0,
    frames: FRESH_FRAME_COUNTERS,
    pingSeed: input.pingSeed ?? input.connectionId,
    pingsSent: 0,
    lastSeq: 0,
    lag: NO_LAG,
    expiry: undefined,
    stream: { resume: input.resume, epoch: undefined, resumed: false, resumeFailure: undefined, replay: [] },
    close: { code: undefined, reason: undefined, peerCode: undefined, socketError: undefined },
  }),
  initial: 'handshaking',
  on: {
    // The socket is gone: whatever state we were in, nothing more can be written (I2, I10).
    'socket.close': {
      target: '.closed',
      actions: assign({ close: ({ context, event }) => Object.assign({}, context.close, { peerCode: event.code }) }),
    },
  },
  states: {
    // Credentials → verification → backend readiness, then `joining`; every refusal closes
    // with its code (4401, 4408, 1013 — never 1011). Frames after the credentials are held.
    handshaking: {
      initial: 'authenticating',
      on: {
        'socket.frame': [
          { guard: 'earlyBufferFull', target: 'closing', actions: closeForEarlyOverflow },
          { actions: 'holdFrame' },
        ],
        ...whileOpen,
      },
      states: {
        authenticating: {
          after: {
            authTimeout: {
              target: '#connection.closing',
              actions: closeWith(CloseCode.AUTH_TIMEOUT, CloseReason.AUTH_TIMEOUT),
            },
          },
          initial: 'awaitingCredentials',
          states: {
            // Left at once when the upgrade carried a token; else the first frame must be `auth`.
            awaitingCredentials: {
              always: { guard: 'hasToken', target: 'verifying' },
              on: {
                'socket.frame': [
                  { guard: 'isAuthFrame', target: 'verifying', actions: 'takeFrameToken' },
                  {
                    target: '#connection.closing',
                    actions: closeWith(CloseCode.UNAUTHORIZED, CloseReason.AUTH_FRAME_EXPECTED),
                  },
                ],
              },
            },
            verifying: {
              entry: { type: 'verifyToken', params: ({ context }) => ({ token: context.token ?? '' }) },
              on: {
                'auth.verified': [
                  { guard: 'identityAcceptable', target: '#connection.handshaking.checkingBackend', actions: 'takeIdentity' },
                  { target: '#connection.closing', actions: 'refuseIdentity' },
                ],
                'auth.refused': {
                  target: '#connection.closing',
                  actions: closeWith(CloseCode.UNAUTHORIZED, CloseReason.UNAUTHORIZED),
                },
              },
            },
          },
        },
        checkingBackend: {
          entry: 'checkBackend',
          on: {
            'backend.ready': { target: '#connection.joining' },
            'backend.unavailable': {
              target: '#connection.closing',
              actions: closeWith(CloseCode.TRY_AGAIN_LATER, CloseReason.BACKEND_NOT_READY),
            },
          },
          after: {
            backendTimeout: {
              target: '#connection.closing',
              actions: closeWith(CloseCode.TRY_AGAIN_LATER, CloseReason.BACKEND_TIMEOUT),
            },
          },
        },
      },
    },
    joining: {
      // The delivery layer answers with `stream.joined` before any `stream.event` for this
      // connection (at once in memory; a shared log holds live events until it answered),
      // so the ready frame always precedes events.
      entry: {
        type: 'joinStream',
        params: ({ context }) => ({
          connectionId: context.connectionId,
          userId: context.userId ?? '',
          resume: context.stream.resume,
        }),
      },
      on: {
        'socket.frame': [
          { guard: 'earlyBufferFull', target: 'closing', actions: closeForEarlyOverflow },
          { actions: 'holdFrame' },
        ],
        ...whileOpen,
        ...streamLost,
        // The user already has `maxConnectionsPerUser` live connections.
        'stream.refused': {
          target: 'closing',
          actions: { type: 'setClose', params: ({ event }) => ({ code: CloseCode.POLICY, reason: event.reason }) },
        },
        'stream.joined': {
          target: 'ready',
          actions: assign(({ context, event }) => ({
            lastSeq: event.lastSeq,
            stream: {
              resume: context.stream.resume,
              epoch: event.epoch,
              resumed: event.resumed,
              resumeFailure: event.reason,
              replay: event.replay,
            },
          })),
        },
      },
      // Availability means "answers within a bound": a delivery layer that cannot say where the
      // stream starts (Redis frozen, partitioned) is the backend not being ready.
      after: {
        joinTimeout: {
          target: 'closing',
          actions: closeWith(CloseCode.TRY_AGAIN_LATER, CloseReason.JOIN_TIMEOUT),
        },
      },
    },
    ready: {
      type: 'parallel',
      entry: [
        {
          type: 'sendFrame',
          params: ({ context }) => ({
            frame: {
              type: 'ready',
              userId: context.userId ?? '',
              connectionId: context.connectionId,
              epoch: context.stream.epoch ?? '',
              lastSeq: context.lastSeq,
              resumed: context.stream.resumed,
              ...(context.stream.resumeFailure === undefined ? {} : { reason: context.stream.resumeFailure }),
            },
          }),
        },
        'sendReplay',
        {
          type: 'installFramePath',
          params: ({ context }) => ({ connectionId: context.connectionId, userId: context.userId ?? '', counters: context.frames }),
        },
        // Installs the ack path too: at once, or after the held frames (`early.released`).
        'releaseEarlyFrames',
      ],
      exit: ['removeFramePath', 'removeAckPath'],
      on: {
        'socket.frame': [
          outgoingOverflow,
          {
            guard: 'isLastRejectedFrameAllowed',
            target: 'closing',
            // The reason is computed before the reply changes the count it depends on.
            actions: ['closeForRejectedFrames', 'replyWithFrameError'],
          },
          { guard: 'isRejectedFrame', actions: 'replyWithFrameError' },
          { actions: 'dispatchFrame' },
        ],
        'message.accepted': [
          // The ack is not dropped silently: the connection closes, and the resent message (same
          // id, after the resume) is acked `duplicate:true` with the original run.
          outgoingOverflow,
          {
            actions: {
              type: 'sendFrame',
              params: ({ event }) => ({ frame: ackFrameOf(event) }),
            },
          },
        ],
        'early.released': { actions: 'installAckPath' },
        // The server refused a `cancel` or an `approve`: the user is told which (refusal-frame.ts).
        'cancel.refused': [outgoingOverflow, { actions: { type: 'sendFrame', params: ({ event }) => ({ frame: refusalFrame(event) }) } }],
        'approval.refused': [outgoingOverflow, { actions: { type: 'sendFrame', params: ({ event }) => ({ frame: refusalFrame(event) }) } }],
        ...whileOpen,
        ...streamLost,
      },
      states: {
        // Backpressure: events always go to the log; a congested socket is not written to and
        // catches up from the log, in order, once it drained (I4, I8).
        flow: {
          initial: 'flowing',
          states: {
            // The event path writes the steady case (next seq, socket under the high-water mark)
            // without a transition; this state sees what it hands over, and every event when
            // no path is installed (traced or inspected connections).
            flowing: {
              entry: { type: 'installEventPath', params: ({ context }) => ({ lastSeq: context.lastSeq }) },
              exit: 'removeEventPath',
              on: {
                'stream.event': [
                  outgoingOverflow,
                  {
                    guard: 'socketCongested',
                    target: 'congested',
                    actions: ['catchUpWithPath', assign({ lag: ({ context, event }) => lagAfter(lagFrom(context.lastSeq), event.event) })],
                  },
                  {
                    actions: [
                      { type: 'sendFrame', params: ({ event }) => ({ frame: { type: 'event', ...event.event } }) },
                      assign({ lastSeq: ({ event }) => event.event.seq }),
                    ],
                  },
                ],
              },
            },
            congested: {
              entry: 'watchDrain',
              exit: assign({ lag: NO_LAG }),
              on: {
                'stream.event': [
                  {
                    guard: 'lagTooLarge',
                    target: '#connection.closing',
                    actions: closeWith(CloseCode.POLICY, CloseReason.SLOW_CONSUMER),
                  },
                  { actions: assign({ lag: ({ context, event }) => lagAfter(context.lag, event.event) }) },
                ],
                'socket.drain': 'catchingUp',
              },
            },
            catchingUp: {
              entry: {
                type: 'readFromLog',
                params: ({ context }) => ({ userId: context.userId ?? '', afterSeq: context.lastSeq }),
              },
              on: {
                // Events delivered meanwhile are in the log too: the catch-up read covers them.
                'stream.caughtUp': [
                  {
                    guard: 'catchUpLost',
                    target: '#connection.closing',
                    actions: closeWith(CloseCode.POLICY, CloseReason.SLOW_CONSUMER),
                  },
                  { target: 'flowing', actions: 'sendCaughtUp' },
                ],
              },
            },
          },
        },
        // The token's `exp` holds for the connection's lifetime: 4401 at expiry unless refreshed.
        tokenExpiry: {
          initial: 'unbounded',
          on: { 'auth.renewed': { target: '.unbounded', reenter: true } },
          states: {
            // Left at once when the current token expires (on ready and after each refresh).
            unbounded: { always: { guard: 'tokenExpires', target: 'counting' } },
            counting: {
              always: {
                guard: 'expiryReached',
                target: '#connection.closing',
                actions: closeWith(CloseCode.UNAUTHORIZED, CloseReason.TOKEN_EXPIRED),
              },
              after: {
                // One timer waits at most MAX_TIMER_MS: a longer expiry is waited for in steps.
                tokenExpiry: {
                  target: 'counting',
                  reenter: true,
                  actions: assign({
                    expiry: ({ context }) =>
                      context.expiry && Object.assign({}, context.expiry, {
                        expiresInMs: context.expiry.expiresInMs - Math.min(MAX_TIMER_MS, context.expiry.expiresInMs),
                      }),
                  }),
                },
              },
            },
          },
        },
        // An `auth` frame after ready carries a new token for the same subject. One at a time;
        // frames that arrive meanwhile are handled at once, in order (I3): nothing waits on this.
        tokenRefresh: {
          initial: 'idle',
          states: {
            idle: { on: { 'auth.refresh': 'verifying' } },
            // Asks the adapter to verify the new token (`verifyRefresh`); it answers later with
            // `refresh.verified` or `refresh.refused`, which only this state listens to.
            verifying: {
              entry: {
                type: 'verifyRefresh',
                params: ({ event }) => ({ token: event.type === 'auth.refresh' ? event.token : '' }),
              },
              on: {
                'refresh.verified': [
                  {
                    guard: { type: 'refreshRejected', params: ({ event }) => ({ identity: event }) },
                    target: 'idle',
                    actions: authError('LOCKSTEP_E_INVALID_TOKEN', 'the new token was not accepted (subject out of bounds or already expired); the previous expiry still applies'),
                  },
                  {
                    guard: { type: 'subjectChanged', params: ({ event }) => ({ identity: event }) },
                    target: 'idle',
                    actions: authError('LOCKSTEP_E_SUBJECT_MISMATCH', 'the new token is for another subject; a connection keeps its user, open a new connection to change it'),
                  },
                  {
                    target: 'idle',
                    actions: [
                      assign({ expiry: ({ event }) => expiryOf(event) }),
                      {
                        type: 'sendFrame',
                        params: ({ context, event }) => {
                          const expiry = expiryOf(event);
                          return {
                            frame: expiry === undefined
                              ? { type: 'auth_ok', userId: context.userId ?? '' }
                              : { type: 'auth_ok', userId: context.userId ?? '', expiresAt: expiry.expiresAt },
                          };
                        },
                      },
                      { type: 'raiseRenewed' },
                    ],
                  },
                ],
                'refresh.refused': {
                  target: 'idle',
                  actions: authError('LOCKSTEP_E_INVALID_TOKEN', 'the new token was not accepted; the previous expiry still applies'),
                },
                'auth.refresh': {
                  actions: authError('LOCKSTEP_E_ALREADY_AUTHENTICATED', 'a token refresh is already being verified; send the next auth frame after its answer'),
                },
              },
            },
          },
        },
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: { after: { heartbeat: 'awaitingPong' } },
            awaitingPong: {
              entry: [
                assign({ pingsSent: ({ context }) => context.pingsSent + 1 }),
                { type: 'ping', params: ({ context }) => ({ payload: heartbeatNonce(context.pingSeed, context.pingsSent) }) },
              ],
              // Only the pong that echoes this ping's nonce: an unsolicited pong proves nothing.
              on: { 'socket.pong': { guard: 'pongAnswersPing', target: 'waiting' } },
              after: {
                // No pong within one full interval: the peer is gone without a close frame.
                heartbeat: {
                  target: '#connection.terminating',
                  actions: closeWith(1006, CloseReason.HEARTBEAT),
                },
              },
            },
          },
        },
      },
    },
    closing: {
      entry: [
        { type: 'leaveStream', params: ({ context }) => ({ connectionId: context.connectionId }) },
        {
          type: 'closeSocket',
          params: ({ context }) => ({
            code: context.close.code ?? CloseCode.NORMAL,
            reason: context.close.reason ?? '',
          }),
        },
      ],
      // A peer that never answers our close frame is cut off.
      after: { closeTimeout: 'terminating' },
    },
    terminating: {
      entry: [
        { type: 'leaveStream', params: ({ context }) => ({ connectionId: context.connectionId }) },
        'terminateSocket',
      ],
    },
    closed: {
      type: 'final',
      entry: { type: 'leaveStream', params: ({ context }) => ({ connectionId: context.connectionId }) },
    },
  },
});
