/**
 * The connection machine's bounded model: the representative events offered in each state,
 * and what makes two snapshots the same vertex. Bounds keep the graph finite: at most two
 * stream events and three messages dispatched delivered per path, limits of two (MODEL_LIMITS).
 */
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { connectionMachine, heartbeatPongPayload, type ConnectionContext, type ConnectionInput } from '../../machines/connection.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { delayEvents, type ModelSpec } from './explore.js';
import { MODEL_LIMITS } from './server-driver.js';

export const AUTH_FRAME = JSON.stringify({ type: 'auth', token: 'tok' });
export const GARBAGE_FRAME = 'this is not json';
export const PING_FRAME = JSON.stringify({ type: 'ping' });
/** Message ids the model uses; ids are derived from the context, so a vertex has one event set. */
export const messageFrame = (n: number) => JSON.stringify({ type: 'message', id: `m${n}`, text: 'hi' });
export const MESSAGE_IDS = Array.from({ length: 12 }, (_, n) => `m${n}`);

// Text deltas of one run: while congested, consecutive ones are one log entry of lag (I8).
const streamEvent = (seq: number) => ({ seq, runId: 'r', event: 'text_delta' as const, data: { delta: 'x' }, ts: 0 });

type ModelEvent = EventObject & Record<string, unknown>;

export function connectionEvents(snapshot: AnyMachineSnapshot): ModelEvent[] {
  const ctx = snapshot.context as ConnectionContext;
  const n = ctx.early.length + ctx.frames.runCount + ctx.frames.badFrames;
  // The next event of the stream: after the last written, or, while congested, after the last counted.
  const nextSeq = Math.max(ctx.lastSeq, ctx.lag.seq) + 1;
  return [
    { type: 'socket.frame', data: AUTH_FRAME },
    ...(ctx.frames.runCount < 3 ? [{ type: 'socket.frame', data: messageFrame(n) }] : []),
    { type: 'socket.frame', data: GARBAGE_FRAME },
    { type: 'socket.close', code: 1006, reason: '' },
    { type: 'socket.error', message: 'Max payload size exceeded', closeCode: CloseCode.TOO_BIG },
    // The pong that echoes the current heartbeat nonce (an unsolicited one changes nothing).
    { type: 'socket.pong', payload: heartbeatPongPayload(ctx) },
    // The peer does not read: its socket holds maxOutgoingBytes when a frame or an ack arrives.
    { type: 'socket.frame', data: PING_FRAME, bufferedBytes: MODEL_LIMITS.maxOutgoingBytes },
    { type: 'message.accepted', id: 'm0', runId: 'r', duplicate: true, bufferedBytes: MODEL_LIMITS.maxOutgoingBytes },
    // The server's answer to a `cancel` frame naming no open run of the user (and at the hard bound).
    { type: 'cancel.refused', runId: 'r0' },
    { type: 'cancel.refused', runId: 'r0', bufferedBytes: MODEL_LIMITS.maxOutgoingBytes },
    // The answer to an `approve` frame no approval waits for (and at the hard bound).
    { type: 'approval.refused', runId: 'r0', toolCallId: 't0' },
    { type: 'approval.refused', runId: 'r0', toolCallId: 't0', bufferedBytes: MODEL_LIMITS.maxOutgoingBytes },
    { type: 'server.shutdown' },
    { type: 'stream.lost' },
    // The handshake's answers, offered where the machine asked (the adapter answers only what was
    // asked; an answer after the state was left changes nothing): verified — a user, a token that
    // expires 1000 ms after verification (the model's tokenExpiry), a subject out of bounds — or
    // refused; the backend ready or unavailable.
    ...(snapshot.matches({ handshaking: { authenticating: 'verifying' } })
      ? [
          { type: 'auth.verified', userId: 'u' },
          { type: 'auth.verified', userId: 'u', expiresAt: 2000, verifiedAt: 1000 },
          { type: 'auth.verified', userId: 'u\nroot' },
          { type: 'auth.refused', reason: 'bad token' },
        ]
      : []),
    ...(snapshot.matches({ handshaking: 'checkingBackend' })
      ? [{ type: 'backend.ready' }, { type: 'backend.unavailable', reason: 'backend down' }]
      : []),
    // Answers of a refresh verification: same user with a new expiry, another user, out of bounds, rejected.
    ...(snapshot.matches({ ready: { tokenRefresh: 'verifying' } })
      ? [
          // The adapter's answers to `verifyRefresh`.
          { type: 'refresh.verified', userId: 'u', expiresAt: 3000, verifiedAt: 2000 },
          { type: 'refresh.verified', userId: 'v', expiresAt: 3000, verifiedAt: 2000 },
          { type: 'refresh.verified', userId: 'u\nroot' },
          { type: 'refresh.refused', reason: 'bad token' },
        ]
      : []),
    { type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] },
    { type: 'stream.refused', reason: 'too many connections for this user' },
    ...(nextSeq <= 3
      ? [
          { type: 'stream.event', event: streamEvent(nextSeq), bufferedBytes: 0 },
          { type: 'stream.event', event: streamEvent(nextSeq), bufferedBytes: MODEL_LIMITS.highWaterMarkBytes },
          { type: 'stream.event', event: streamEvent(nextSeq), bufferedBytes: MODEL_LIMITS.maxOutgoingBytes },
          // In `congested`: an event further ahead than maxLagEvents (the seqs between were never seen).
          { type: 'stream.event', event: streamEvent(nextSeq + MODEL_LIMITS.maxLagEvents), bufferedBytes: MODEL_LIMITS.highWaterMarkBytes },
        ]
      : []),
    { type: 'socket.drain' },
    // The catch-up read holds at least the event that found the socket congested.
    { type: 'stream.caughtUp', events: [streamEvent(ctx.lastSeq + 1)] },
    { type: 'stream.caughtUp', events: undefined },
    { type: 'message.accepted', id: 'm0', runId: 'r', duplicate: true },
    ...delayEvents(snapshot),
  ];
}

export const connectionInputs: ConnectionInput[] = [undefined, 'tok'].map((token) => ({
  connectionId: 'c',
  token,
  limits: { ...MODEL_LIMITS },
}));

export const connectionSpec: ModelSpec = {
  name: 'connection',
  machine: connectionMachine,
  inputs: connectionInputs,
  events: connectionEvents,
  // The context that decides what happens next, per phase: once closing, nothing in it does
  // (codes and reasons only parameterize effects); counters for metrics never do.
  serialize: (s) => {
    const c = s.context as ConnectionContext;
    if (typeof s.value === 'string' && ['closing', 'terminating', 'closed'].includes(s.value)) return JSON.stringify(s.value);
    if (s.matches('ready')) return JSON.stringify([s.value, Math.floor(c.frames.bucket?.tokens ?? MODEL_LIMITS.messageBurst), c.frames.runCount, c.frames.badFrames, c.lastSeq, c.expiry]);
    return JSON.stringify([s.value, c.token, c.userId, c.early]);
  },
};
