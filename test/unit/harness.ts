/** Drives the pure connection machine with recorded effects and a SimulatedClock. */
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits, type HandlerInvocation } from '../../machines/connection.js';
import type { VerifiedIdentity } from '../../machines/handshake.js';
import { handshakeEffects } from '../../src/adapter/handshake-effects.js';
import type { ServerFrame, StreamEvent } from '../../src/protocol/frames.js';

export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));


export interface Recorded {
  sent: ServerFrame[];
  closes: Array<{ code: number; reason: string }>;
  terminated: number;
  pings: number;
  handled: HandlerInvocation[];
  /** The frame count when each handler call happened (to prove `ready` came first). */
  sentBeforeHandler: number[];
  left: number;
  drainWatches: number;
  logReads: number[];
  /** Ids of messages handed to the handler before the `ready` frame was sent (must stay empty). */
  handledBeforeReady: string[];
  joins: Array<{ connectionId: string; userId: string }>;
  /** User ids whose shared bucket was asked to spend a token (one per accepted message). */
  spent: string[];
  /** The runs `cancel` frames asked to stop. */
  cancels: Array<{ userId: string; runId: string }>;
}

export function connectionUnderTest(options: {
  token?: string;
  limits?: Partial<ConnectionLimits>;
  /** Backend readiness: a promise, or a function called on each check. */
  backend?: Promise<void> | (() => Promise<void>);
  /** false: joinStream does not answer, the machine stays in `joining`. */
  autoJoin?: boolean;
  /** The user's lastSeq the stream hub reports on join. Default 7. */
  joinLastSeq?: number;
  replay?: StreamEvent[];
  resumeFailure?: 'epoch' | 'gap';
  verify?: (token: string) => Promise<VerifiedIdentity>;
  /** What the log answers to a catch-up read after `afterSeq`. */
  log?: (afterSeq: number) => StreamEvent[] | undefined;
} = {}) {
  const clock = new SimulatedClock();
  const rec: Recorded = { sent: [], closes: [], terminated: 0, pings: 0, handled: [], sentBeforeHandler: [], left: 0, drainWatches: 0, logReads: [], handledBeforeReady: [], joins: [], spent: [], cancels: [] };
  const verify = options.verify ?? (async (t: string) => ({ userId: t }));
  const machine = connectionMachine.provide({
    actors: {
      verifyRefresh: fromPromise(({ input }: { input: { token: string } }) => verify(input.token)),
    },
    actions: {
      // The server's own handshake effects, with this test's verifier and readiness.
      ...handshakeEffects({
        verify,
        backendReady: () => (typeof options.backend === 'function' ? options.backend() : (options.backend ?? Promise.resolve())),
      }),
      sendFrame: (_, p) => rec.sent.push(p.frame),
      closeSocket: (_, p) => rec.closes.push(p),
      terminateSocket: () => (rec.terminated += 1),
      ping: () => (rec.pings += 1),
      invokeHandler: ({ self }, p) => {
        if (!rec.sent.some((f) => f.type === 'ready')) rec.handledBeforeReady.push(p.message.id);
        self.send({ type: 'message.accepted', id: p.message.id, runId: p.runId, duplicate: false });
        rec.handled.push(p);
        rec.sentBeforeHandler.push(rec.sent.length);
      },
      joinStream: ({ self }, p) => {
        rec.joins.push({ connectionId: p.connectionId, userId: p.userId });
        if (options.autoJoin === false) return;
        self.send({
          type: 'stream.joined',
          epoch: 'e1',
          lastSeq: options.joinLastSeq ?? 7,
          resumed: false,
          replay: options.replay ?? [],
          // The server's clock when the join was answered (as the server attaches it).
          atMs: clock.now(),
          ...(options.resumeFailure ? { reason: options.resumeFailure } : {}),
        });
      },
      leaveStream: () => (rec.left += 1),
      spendUserToken: (_, p) => rec.spent.push(p.userId),
      cancelRun: (_, p) => rec.cancels.push(p),
      watchDrain: () => (rec.drainWatches += 1),
      readFromLog: ({ self }, p) => {
        rec.logReads.push(p.afterSeq);
        self.send({ type: 'stream.caughtUp', events: options.log?.(p.afterSeq) });
      },
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      connectionId: 'c1',
      token: 'token' in options ? options.token : 'alice',
      limits: { ...DEFAULT_CONNECTION_LIMITS, ...options.limits },
    },
  });
  actor.start();
  // Every frame carries the clock's time, as the server's adapter attaches it (the connection's bucket refills from it).
  const frame = (value: unknown) =>
    actor.send({ type: 'socket.frame', data: typeof value === 'string' || value === null ? (value as string | null) : JSON.stringify(value), atMs: clock.now() });
  return { actor, clock, rec, frame, state: () => actor.getSnapshot().value };
}

export { deferred } from '../support/deferred.js';
