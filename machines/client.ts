/**
 * The client's side of a lockstep connection, one actor per `createLockstepClient`:
 *
 *   active:
 *     starting ─▶ fetchingToken ─▶ online: connecting ─socket.open─▶ authenticating ─server.ready─▶ ready
 *        └──(token given)────────────▲  ▲                                                           │
 *                                    │  └──after backoff── reconnecting ◀──── socket.close ─────────┘
 *                                    └── fetchingToken ◀── 4401 (getToken, once per ready)
 *   final: closed (close(), 1000) · unauthorized (4401, no way to refresh) · refused (1008 policy, 1009)
 *
 * The machine decides; the runtime (src/client/) reports facts as events and performs the
 * effects, which are named here with no-op defaults and provided with `.provide()`:
 * openSocket, dropSocket, acceptReady, flushOutbox, sendMessage, applyAck, applyEvent,
 * reportServerError, deferMessage, resendDeferred, reportClose, reportUndecodable, sendCancel, sendApprove. The random
 * draw behind the jitter comes with `socket.open`/`socket.close` (a fact, like a socket's
 * buffered bytes on the server), so the machine reads no random source and no clock: every
 * wait is a named delay (`backoff`, `openTimeout`, `rateLimitRetry`) driven by SimulatedClock
 * in tests. The outbox, the resume point and the runs live in the runtime's store; the
 * machine says when they are sent, applied and reported.
 */
import { assign, fromPromise, setup } from 'xstate';
import { backoffDelay, closeDisposition, DEFAULT_CLIENT_TIMING, type ClientTiming } from './client-policy.js';
import type { AckFrame, AuthOkFrame, ErrorFrame, EventFrame, PongFrame, ReadyFrame } from '../src/protocol/frames.js';

export { backoffDelay, closeDisposition, DEFAULT_CLIENT_TIMING, type ClientTiming, type CloseDisposition } from './client-policy.js';

/** Input of {@link clientMachine}. */
export interface ClientMachineInput {
  /** The token to connect with; undefined: fetch one with `getToken` first. */
  token?: string | undefined;
  /** True when the runtime can fetch a new token (`getToken` was given): 4401 then refreshes once. */
  canRefreshToken: boolean;
  timing?: Partial<ClientTiming>;
}

/** The last close the client saw (or caused): why it is not connected. */
export interface ClientClose { code: number; reason: string }

/** The client machine's context: the token, the reconnect counters and the last close. */
export interface ClientContext {
  timing: ClientTiming;
  token: string | undefined;
  canRefreshToken: boolean;
  /** Reconnect attempts since the last `ready` (0: the first retry). */
  attempt: number;
  /** The random draw in [0, 1) reported with the last socket event: the backoff's jitter. */
  jitter: number;
  /** A 4401 already led to a token refresh since the last `ready`: the next 4401 is final. */
  refreshedSinceReady: boolean;
  lastClose: ClientClose | undefined;
}

/** Everything the runtime reports to the client machine (facts, not decisions). */
export type ClientEvent =
  | { type: 'socket.open'; jitter: number }
  | { type: 'socket.close'; code: number; reason: string; jitter: number }
  | { type: 'server.ready'; frame: ReadyFrame }
  | { type: 'server.ack'; frame: AckFrame }
  | { type: 'server.event'; frame: EventFrame }
  | { type: 'server.error'; frame: ErrorFrame }
  | { type: 'server.authOk'; frame: AuthOkFrame }
  | { type: 'server.pong'; frame: PongFrame }
  /** A frame that is not JSON or not a frame of lockstep.v1 (a server bug or a proxy): reported, ignored. */
  | { type: 'server.undecodable'; data: string }
  /** The app sent a message (already in the outbox). */
  | { type: 'client.send'; id: string }
  /** The app asked to stop a run: one `cancel` frame while ready (nothing is stored; offline it is not sent). */
  | { type: 'client.cancel'; runId: string }
  /** The app answered an approval: one `approve` frame while ready (like a cancel, nothing is stored). */
  | { type: 'client.approve'; runId: string; toolCallId: string; approved: boolean; data?: unknown }
  | { type: 'client.close' };

/** The client's state names (top level), as `client.state` reports them. */
export type ClientStateName =
  | 'starting'
  | 'fetchingToken'
  | 'connecting'
  | 'authenticating'
  | 'ready'
  | 'reconnecting'
  | 'closed'
  | 'unauthorized'
  | 'refused';

/** Close code and reason the client itself uses when it gives a socket up. */
export const CLIENT_CLOSE = {
  byApp: { code: 1000, reason: 'client closed' },
  openTimeout: { code: 4000, reason: 'open timeout' },
} as const;

/** The timing with a default for every field not given. */
const timingOf = (given: Partial<ClientTiming> | undefined): ClientTiming => Object.assign({}, DEFAULT_CLIENT_TIMING, given);

const closeOf = (event: ClientEvent) => (event.type === 'socket.close' ? closeDisposition(event.code, event.reason) : undefined);

/**
 * The client machine: see the chart in visualizations/client.svg and docs/lifecycle.md. The
 * effects are no-ops until `createLockstepClient` provides them.
 */
export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    input: {} as ClientMachineInput,
    events: {} as ClientEvent,
  },
  delays: {
    backoff: ({ context }) => backoffDelay(context.attempt, context.jitter, context.timing),
    openTimeout: ({ context }) => context.timing.openTimeoutMs,
    rateLimitRetry: ({ context }) => context.timing.rateLimitRetryMs,
  },
  guards: {
    hasToken: ({ context }) => context.token !== undefined,
    closedNormally: ({ event }) => closeOf(event) === 'closed',
    refused: ({ event }) => closeOf(event) === 'refused',
    mayRefreshToken: ({ context, event }) => closeOf(event) === 'token' && context.canRefreshToken && !context.refreshedSinceReady,
    unauthorized: ({ event }) => closeOf(event) === 'token',
    rateLimited: ({ event }) => event.type === 'server.error' && event.frame.code === 'LOCKSTEP_E_RATE_LIMITED' && event.frame.ref !== undefined,
  },
  actors: {
    /** Provided by the runtime from `getToken`; the default has none. */
    getToken: fromPromise<string, void>(async () => {
      throw new Error('clientMachine: actor "getToken" was not provided');
    }),
  },
  actions: {
    /** Opens a WebSocket with the token; the runtime adds the stored resume point to the URL. */
    openSocket: (_, _params: { token: string; attempt: number }) => {},
    /** Detaches the runtime from the current socket and closes it: nothing it reports reaches the machine after. */
    dropSocket: (_, _params: ClientClose) => {},
    /** The `ready` frame: the runtime checks it against the stored resume point (gap, interrupted runs). */
    acceptReady: (_, _params: { frame: ReadyFrame }) => {},
    /** Sends every message of the outbox, oldest first, with its own id. */
    flushOutbox: () => {},
    sendMessage: (_, _params: { id: string }) => {},
    applyAck: (_, _params: { frame: AckFrame }) => {},
    /** The one place stream items reach the runs (src/client/run-book.ts). */
    applyEvent: (_, _params: { frame: EventFrame }) => {},
    reportServerError: (_, _params: { frame: ErrorFrame }) => {},
    /** A message refused with LOCKSTEP_E_RATE_LIMITED stays in the outbox and is sent again after `rateLimitRetry`. */
    deferMessage: (_, _params: { id: string }) => {},
    resendDeferred: () => {},
    reportClose: (_, _params: ClientClose & { willRetry: boolean }) => {},
    reportUndecodable: (_, _params: { data: string }) => {},
    /** Sends `{"type":"cancel","runId"}`; the server's answer is the run's end, or an error frame with ref = runId. */
    sendCancel: (_, _params: { runId: string }) => {},
    /** Sends `{"type":"approve",…}`; the server's answer is `approval_resolved`, or an error frame with ref = runId. */
    sendApprove: (_, _params: { runId: string; toolCallId: string; approved: boolean; data?: unknown }) => {},
    recordClose: assign(({ event }) => {
      if (event.type !== 'socket.close') return {};
      return { lastClose: { code: event.code, reason: event.reason }, jitter: event.jitter };
    }),
    recordJitter: assign(({ event }) => (event.type === 'socket.open' || event.type === 'socket.close' ? { jitter: event.jitter } : {})),
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    timing: timingOf(input.timing),
    token: input.token,
    canRefreshToken: input.canRefreshToken,
    attempt: 0,
    jitter: 0,
    refreshedSinceReady: false,
    lastClose: undefined,
  }),
  initial: 'active',
  states: {
    // Everything before a final state: `close()` ends it from anywhere.
    active: {
      initial: 'starting',
      on: {
        'client.close': {
          target: 'closed',
          actions: [
            { type: 'dropSocket', params: CLIENT_CLOSE.byApp },
            assign({ lastClose: () => ({ ...CLIENT_CLOSE.byApp }) }),
          ],
        },
      },
      states: {
        starting: {
          always: [{ guard: 'hasToken', target: 'online' }, { target: 'fetchingToken' }],
        },
        fetchingToken: {
          invoke: {
            src: 'getToken',
            onDone: { target: 'online', actions: assign({ token: ({ event }) => event.output }) },
            // A getToken that fails leaves no way to authenticate: final, the app is told.
            onError: { target: '#client.unauthorized' },
          },
        },
        // A socket exists (opening, handshaking or ready): its close decides what comes next.
        online: {
          initial: 'connecting',
          on: {
            'server.undecodable': { actions: { type: 'reportUndecodable', params: ({ event }) => ({ data: event.data }) } },
            'socket.close': [
              { guard: 'closedNormally', target: '#client.closed', actions: ['recordClose', { type: 'reportClose', params: ({ event }) => ({ code: event.code, reason: event.reason, willRetry: false }) }] },
              { guard: 'refused', target: '#client.refused', actions: ['recordClose', { type: 'reportClose', params: ({ event }) => ({ code: event.code, reason: event.reason, willRetry: false }) }] },
              {
                guard: 'mayRefreshToken',
                target: 'fetchingToken',
                actions: [
                  'recordClose',
                  assign({ refreshedSinceReady: true, token: undefined }),
                  { type: 'reportClose', params: ({ event }) => ({ code: event.code, reason: event.reason, willRetry: true }) },
                ],
              },
              { guard: 'unauthorized', target: '#client.unauthorized', actions: ['recordClose', { type: 'reportClose', params: ({ event }) => ({ code: event.code, reason: event.reason, willRetry: false }) }] },
              { target: 'reconnecting', actions: ['recordClose', { type: 'reportClose', params: ({ event }) => ({ code: event.code, reason: event.reason, willRetry: true }) }] },
            ],
          },
          states: {
            connecting: {
              entry: { type: 'openSocket', params: ({ context }) => ({ token: context.token ?? '', attempt: context.attempt }) },
              on: { 'socket.open': { target: 'authenticating', actions: 'recordJitter' } },
              after: {
                openTimeout: { target: '#client.active.reconnecting', actions: { type: 'dropSocket', params: CLIENT_CLOSE.openTimeout } },
              },
            },
            // The socket is open; the server's first frame is `ready` (handshake, backend readiness, join).
            authenticating: {
              on: {
                'server.ready': {
                  target: 'ready',
                  actions: [
                    { type: 'acceptReady', params: ({ event }) => ({ frame: event.frame }) },
                    assign({ attempt: 0, refreshedSinceReady: false }),
                    'flushOutbox',
                  ],
                },
              },
              after: {
                openTimeout: { target: '#client.active.reconnecting', actions: { type: 'dropSocket', params: CLIENT_CLOSE.openTimeout } },
              },
            },
            ready: {
              initial: 'sending',
              on: {
                'client.send': { actions: { type: 'sendMessage', params: ({ event }) => ({ id: event.id }) } },
                'client.cancel': { actions: { type: 'sendCancel', params: ({ event }) => ({ runId: event.runId }) } },
                'client.approve': {
                  actions: {
                    type: 'sendApprove',
                    params: ({ event }) => ({ runId: event.runId, toolCallId: event.toolCallId, approved: event.approved, data: event.data }),
                  },
                },
                'server.ack': { actions: { type: 'applyAck', params: ({ event }) => ({ frame: event.frame }) } },
                'server.event': { actions: { type: 'applyEvent', params: ({ event }) => ({ frame: event.frame }) } },
                'server.error': { actions: { type: 'reportServerError', params: ({ event }) => ({ frame: event.frame }) } },
              },
              states: {
                sending: {
                  on: {
                    'server.error': {
                      guard: 'rateLimited',
                      target: 'waitingToResend',
                      actions: [
                        { type: 'reportServerError', params: ({ event }) => ({ frame: event.frame }) },
                        { type: 'deferMessage', params: ({ event }) => ({ id: event.frame.ref ?? '' }) },
                      ],
                    },
                  },
                },
                // Messages refused by the rate limit wait here (still in the outbox), then go again.
                waitingToResend: {
                  on: {
                    'server.error': {
                      guard: 'rateLimited',
                      actions: [
                        { type: 'reportServerError', params: ({ event }) => ({ frame: event.frame }) },
                        { type: 'deferMessage', params: ({ event }) => ({ id: event.frame.ref ?? '' }) },
                      ],
                    },
                  },
                  after: { rateLimitRetry: { target: 'sending', actions: 'resendDeferred' } },
                },
              },
            },
          },
        },
        reconnecting: {
          after: {
            backoff: [
              { guard: 'hasToken', target: 'online', actions: assign({ attempt: ({ context }) => context.attempt + 1 }) },
              { target: 'fetchingToken', actions: assign({ attempt: ({ context }) => context.attempt + 1 }) },
            ],
          },
        },
      },
    },
    closed: { type: 'final' },
    unauthorized: { type: 'final' },
    refused: { type: 'final' },
  },
});

/** The client machine's type (mutants and tests swap in variants). */
export type ClientMachine = typeof clientMachine;
