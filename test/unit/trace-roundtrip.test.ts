/**
 * The recorder and the replay agree on every interleaving: fast-check drives a connection
 * actor with the recorder attached through random sequences of client frames, pongs, stream
 * events, drains, verifier, readiness and token-refresh outcomes (accepted, another subject,
 * out of bounds, rejected; tokens with and without expiry), shutdown, closes and time — with timers that
 * fire *late* (as real timers do: due, but not yet run while other events arrive) — and the
 * replay of each recorded trace must match it exactly: same entries, same effects, same end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createActor, type AnyActorRef } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, heartbeatPongPayload, type ConnectionLimits } from '../../machines/connection.js';
import type { VerifiedIdentity } from '../../machines/handshake.js';
import { handshakeEffects } from '../../src/adapter/handshake-effects.js';
import { DEFAULT_MAX_TRACE_BYTES, recordConnection } from '../../src/trace/recorder.js';
import type { ConnectionTrace } from '../../src/trace/format.js';
import { replayTrace } from '../../src/testing/replay.js';
import { formatReplay } from '../../src/testing/replay-report.js';
import type { Clock } from '../../src/clock.js';

/** A clock whose due timers run only when told: `advance` moves time, `fireDue` runs what is due. */
class LateClock implements Clock {
  #now = 0;
  #nextId = 0;
  readonly #timers = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + ms, fn });
    return id;
  }
  clearTimeout(id: number): void {
    this.#timers.delete(id);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  fireDue(): void {
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.due <= this.#now).sort(([, a], [, b]) => a.due - b.due)[0];
      if (due === undefined) return;
      this.#timers.delete(due[0]);
      due[1].fn();
    }
  }
}

const LIMITS: ConnectionLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  authTimeoutMs: 40,
  backendTimeoutMs: 40,
  heartbeatMs: 30,
  closeTimeoutMs: 20,
  maxEarlyFrames: 4,
  maxBadFrames: 3,
  messageRate: 100, // a refill every 10 ms
  messageBurst: 2,
  highWaterMarkBytes: 100,
  maxLagEvents: 3,
};

type Command =
  | { kind: 'frame'; data: string | null }
  | { kind: 'verify' | 'backend'; ok: boolean }
  | { kind: 'verify'; ok: true; expiresInMs: number }
  | { kind: 'refresh'; outcome: RefreshOutcome }
  /** An auth frame after ready and, once the frame was handled, its verifier's answer. */
  | { kind: 'authRefresh'; outcome: RefreshOutcome }
  | { kind: 'advance'; ms: number }
  | { kind: 'fireDue' }
  | { kind: 'pong' | 'drain' | 'shutdown' | 'error' }
  | { kind: 'streamEvent'; bufferedBytes: number }
  | { kind: 'close'; code: number };

/** How a token refresh's verifier answers: the same user (optionally expiring), another, an invalid subject, an error. */
type RefreshOutcome = 'same' | 'sameExpiring' | 'expired' | 'otherSubject' | 'invalidSubject' | 'reject';

/** A verified identity as the server hands it over: expiry facts from the verifier and the server's clock. */
const VERIFIED_AT = 1_700_000_000_000;
const identity = (userId: string, expiresInMs?: number): VerifiedIdentity =>
  expiresInMs === undefined ? { userId } : { userId, expiresAt: VERIFIED_AT + expiresInMs, verifiedAt: VERIFIED_AT };

const frames = [
  JSON.stringify({ type: 'auth', token: 'secret-token' }),
  JSON.stringify({ type: 'auth', token: 'fresh-token' }),
  JSON.stringify({ type: 'message', id: 'm', text: 'hi' }),
  JSON.stringify({ type: 'ping', id: 'p' }),
  '{not json',
  null,
];

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...frames).map((data) => ({ kind: 'frame', data }) as const) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('verify' as const, 'backend' as const), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 120 }).map((expiresInMs) => ({ kind: 'verify', ok: true, expiresInMs }) as const) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<RefreshOutcome>('same', 'sameExpiring', 'expired', 'otherSubject', 'invalidSubject', 'reject')
      .map((outcome) => ({ kind: 'refresh', outcome }) as const),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom<RefreshOutcome>('same', 'sameExpiring', 'expired', 'otherSubject', 'invalidSubject', 'reject')
      .map((outcome) => ({ kind: 'authRefresh', outcome }) as const),
  },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 25 }).map((ms) => ({ kind: 'advance', ms }) as const) },
  { weight: 3, arbitrary: fc.constant({ kind: 'fireDue' } as const) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 200 }).map((bufferedBytes) => ({ kind: 'streamEvent', bufferedBytes }) as const) },
  { weight: 1, arbitrary: fc.constantFrom('pong' as const, 'drain' as const, 'shutdown' as const, 'error' as const).map((kind) => ({ kind })) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 1001, 1006).map((code) => ({ kind: 'close', code }) as const) },
);

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function recordRun(commands: Command[], upgradeToken: boolean): Promise<ConnectionTrace> {
  const clock = new LateClock();
  const settle: Partial<Record<'verify' | 'backend' | 'refresh', { resolve: (v: unknown) => void; reject: (e: Error) => void; token: string }>> = {};
  // `token`: what the verifier was given (its error names it, as real verifiers' errors may).
  const pending = (kind: 'verify' | 'backend' | 'refresh', token = '') =>
    new Promise<never>((resolve, reject) => {
      settle[kind] = { resolve: resolve as (v: unknown) => void, reject, token };
    });
  let seq = 0;
  let trace: ConnectionTrace | undefined;
  const machine = connectionMachine.provide({
    actions: {
      // The handshake and a token refresh ask through the server's own effects; the commands
      // settle the checks (a `refresh` command settles the refresh's; the trace records the answer).
      ...handshakeEffects({ verify: (token) => pending('verify', token), backendReady: () => pending('backend') }),
      verifyRefresh: (scope, params) =>
        handshakeEffects({ verify: (token) => pending('refresh', token), backendReady: () => {} }).verifyRefresh(scope, params),
      // The effects answer the way the server's do: synchronously, through `self.send`.
      joinStream: ({ self }) => self.send({ type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] }),
      invokeHandler: ({ self }, params) => self.send({ type: 'message.accepted', id: params.message.id, runId: params.runId, duplicate: false }),
      readFromLog: ({ self }) => self.send({ type: 'stream.caughtUp', events: [] }),
    },
  });
  const recorder = recordConnection({
    connectionId: 'c-1',
    token: upgradeToken ? 'secret-token' : undefined,
    credentials: upgradeToken ? 'header' : 'frame',
    resume: undefined,
    limits: LIMITS,
    clock,
    maxEntries: 10_000,
    maxBytes: DEFAULT_MAX_TRACE_BYTES,
    onTrace: (t) => (trace = t),
  });
  const actor = createActor(machine, {
    input: { connectionId: 'c-1', token: upgradeToken ? 'secret-token' : undefined, limits: LIMITS },
    clock: recorder.clock,
    inspect: recorder.inspect,
  });
  recorder.watch(actor as unknown as AnyActorRef);
  actor.start();
  for (const c of commands) {
    if (actor.getSnapshot().status !== 'active') break;
    switch (c.kind) {
      case 'frame': actor.send({ type: 'socket.frame', data: c.data }); break;
      case 'verify':
        if (c.ok) settle.verify?.resolve(identity('u', 'expiresInMs' in c ? c.expiresInMs : undefined));
        else settle.verify?.reject(new Error(`bad ${settle.verify.token}`));
        break;
      case 'authRefresh':
        actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'auth', token: 'fresh-token' }) });
        await flush();
      // falls through: the verifier answers
      case 'refresh': {
        const refresh = settle.refresh;
        if (c.outcome === 'reject') refresh?.reject(new Error(`bad ${refresh.token}`));
        else {
          const outcomes: Record<Exclude<RefreshOutcome, 'reject'>, VerifiedIdentity> = {
            same: identity('u'),
            sameExpiring: identity('u', 60),
            expired: identity('u', -1),
            otherSubject: identity('someone-else'),
            invalidSubject: identity('bad\nsubject'),
          };
          refresh?.resolve(outcomes[c.outcome]);
        }
        delete settle.refresh; // settled once; the next refresh makes a new promise
        break;
      }
      case 'backend':
        if (c.ok) settle.backend?.resolve(undefined);
        else settle.backend?.reject(new Error('down'));
        break;
      case 'advance': clock.advance(c.ms); break;
      case 'fireDue': clock.fireDue(); break;
      case 'pong': actor.send({ type: 'socket.pong', payload: heartbeatPongPayload((actor.getSnapshot() as { context: { pingSeed: string; pingsSent: number } }).context) }); break;
      case 'drain': actor.send({ type: 'socket.drain' }); break;
      case 'shutdown': actor.send({ type: 'server.shutdown' }); break;
      case 'error': actor.send({ type: 'socket.error', message: 'boom', closeCode: 1002 }); break;
      case 'streamEvent':
        seq += 1;
        actor.send({ type: 'stream.event', event: { seq, runId: 'r', event: 'agent_thinking', data: null, ts: 0 }, bufferedBytes: c.bufferedBytes });
        break;
      case 'close': actor.send({ type: 'socket.close', code: c.code, reason: '' }); break;
    }
    await flush(); // promise outcomes land here, between commands, like I/O callbacks
  }
  if (actor.getSnapshot().status === 'active') actor.send({ type: 'socket.close', code: 1000, reason: '' });
  if (trace === undefined) throw new Error('no trace');
  return trace;
}

describe('record → replay round trip (fast-check, late timers)', () => {
  it('every recorded interleaving replays exactly, and no trace holds the token', async () => {
    await fc.assert(
      // Half the runs start on a connection that reaches ready at once (an upgrade token, both
      // handshake promises resolved), so that refreshes, which exist only in ready, are common.
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), fc.boolean(), fc.boolean(), async (commands, upgradeToken, readyFirst) => {
        const ready: Command[] = [{ kind: 'verify', ok: true }, { kind: 'backend', ok: true }];
        const trace = await recordRun(upgradeToken && readyFirst ? [...ready, ...commands] : commands, upgradeToken);
        const result = replayTrace(JSON.parse(JSON.stringify(trace)));
        expect(result.divergences, formatReplay(result).join('\n')).toEqual([]);
        expect(JSON.stringify(trace)).not.toContain('secret-token');
        expect(JSON.stringify(trace)).not.toContain('fresh-token');
      }),
      // 200 runs: about one in sixteen reaches a refresh answered in ready (the examples below cover each outcome).
      { numRuns: 200 },
    );
  });
});

describe('record → replay round trip of token refreshes', () => {
  const frame = (value: unknown): Command => ({ kind: 'frame', data: JSON.stringify(value) });
  const toReady: Command[] = [{ kind: 'verify', ok: true }, { kind: 'backend', ok: true }];
  const refreshFrame = frame({ type: 'auth', token: 'fresh-token' });
  const sent = (trace: ConnectionTrace) =>
    trace.effects.filter((e) => e.type === 'sendFrame').map((e) => (e.params as { frame: { type: string; code?: string } }).frame);

  it.each<[RefreshOutcome, { type: string; code?: string }]>([
    ['same', { type: 'auth_ok' }],
    ['sameExpiring', { type: 'auth_ok' }],
    ['expired', { type: 'error', code: 'LOCKSTEP_E_INVALID_TOKEN' }],
    ['otherSubject', { type: 'error', code: 'LOCKSTEP_E_SUBJECT_MISMATCH' }],
    ['invalidSubject', { type: 'error', code: 'LOCKSTEP_E_INVALID_TOKEN' }],
    ['reject', { type: 'error', code: 'LOCKSTEP_E_INVALID_TOKEN' }],
  ])('a refresh answered %s is recorded as a refresh answer event and replays to the same frames', async (outcome, answer) => {
    const trace = await recordRun([
      ...toReady, refreshFrame, { kind: 'refresh', outcome },
      frame({ type: 'message', id: 'after', text: 'hi' }),
      // An accepted expiring refresh (60 ms) closes 4401 at expiry, in the recording and the replay.
      { kind: 'advance', ms: 25 }, { kind: 'fireDue' }, { kind: 'advance', ms: 40 }, { kind: 'fireDue' },
    ], true);
    expect(trace.entries.filter((e) => e.kind === 'event' && e.event.type.startsWith('refresh.'))).toHaveLength(1);
    expect(sent(trace)).toContainEqual(expect.objectContaining(answer));
    const result = replayTrace(JSON.parse(JSON.stringify(trace)));
    expect(result.divergences, formatReplay(result).join('\n')).toEqual([]);
    expect(sent({ ...trace, effects: result.effects })).toEqual(sent(trace));
    if (outcome === 'sameExpiring') expect(result.final.closeCode).toBe(4401);
  });
});
