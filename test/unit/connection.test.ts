import { describe, expect, it } from 'vitest';
import { connectionUnderTest, deferred, flush } from './harness.js';
import { DEFAULT_CONNECTION_LIMITS, heartbeatPongPayload, type ConnectionLimits } from '../../machines/connection.js';
import { connectionTokens } from '../../machines/frame-counters.js';
import type { StreamEvent } from '../../src/protocol/frames.js';

const msg = (id: string) => ({ type: 'message', id, text: `text ${id}` });

describe('connection machine: early frames (I1, I3)', () => {
  it('holds frames while the backend warms up, then sends ready first and handles them in order', async () => {
    const backend = deferred();
    const t = connectionUnderTest({ backend: backend.promise });
    t.frame(msg('a'));
    t.frame('{bad');
    t.frame(msg('b'));
    await flush();
    expect(t.state()).toEqual({ handshaking: 'checkingBackend' });
    expect(t.rec.sent).toEqual([]);
    expect(t.rec.handled).toEqual([]);

    backend.resolve();
    await flush();
    expect(t.rec.sent[0]).toEqual({ type: 'ready', userId: 'alice', connectionId: 'c1', epoch: 'e1', lastSeq: 7, resumed: false });
    expect(t.rec.sent.slice(1).map((f) => f.type)).toEqual(['error', 'ack', 'ack']);
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['a', 'b']);
    expect(t.rec.handled.map((h) => h.runId)).toEqual(['c1.1', 'c1.2']);
    expect(Math.min(...t.rec.sentBeforeHandler)).toBeGreaterThan(0);
    expect(t.actor.getSnapshot().context.heldFrames).toBe(3);
  });

  it('with an auth frame: the auth frame goes to the handshake, the rest is held', async () => {
    const t = connectionUnderTest({ token: undefined });
    t.frame({ type: 'auth', token: 'bob' });
    t.frame(msg('a'));
    await flush();
    expect(t.rec.sent[0]).toMatchObject({ type: 'ready', userId: 'bob' });
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['a']);
  });

  it('more than maxEarlyFrames before ready → 1008', async () => {
    const t = connectionUnderTest({ backend: new Promise(() => {}), limits: { maxEarlyFrames: 3 } });
    for (const id of ['1', '2', '3', '4']) t.frame(msg(id));
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'too many frames before ready' }]);
    expect(t.rec.sent).toEqual([]);
  });

  it('a rejected handshake closes with its code and never sends ready', async () => {
    const t = connectionUnderTest({ verify: () => Promise.reject(new Error('nope')) });
    t.frame(msg('a'));
    await flush();
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'unauthorized' }]);
    expect(t.rec.sent).toEqual([]);
    expect(t.rec.handled).toEqual([]);
  });
});

describe('connection machine: frames when ready', () => {
  async function ready(limits = {}) {
    const t = connectionUnderTest({ limits });
    await flush();
    expect(t.state()).toEqual(READY_VALUE);
    t.rec.sent.length = 0;
    return t;
  }

  it.each([
    ['{', 'LOCKSTEP_E_BAD_JSON'],
    [JSON.stringify({ type: 'message', id: 'r1' }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'nope' }), 'LOCKSTEP_E_UNKNOWN_TYPE'],
    [null, 'LOCKSTEP_E_BINARY_UNSUPPORTED'],
  ])('%s → %s, connection stays ready', async (data, code) => {
    const t = await ready();
    t.frame(data);
    expect(t.rec.sent[0]).toMatchObject({ type: 'error', code });
    expect(t.state()).toMatchObject({ ready: {} });
  });

  it('a schema error on a message carries its id as ref', async () => {
    const t = await ready();
    t.frame({ type: 'message', id: 'r1', text: 5 });
    expect(t.rec.sent[0]).toMatchObject({ code: 'LOCKSTEP_E_BAD_FRAME', ref: 'r1' });
  });

  it('maxBadFrames → 1008; a valid frame takes one off the count, it does not reset it', async () => {
    const t = await ready({ maxBadFrames: 3 });
    t.frame('x');
    t.frame('x');
    t.frame({ type: 'ping' });
    t.frame('x');
    expect(t.state()).toMatchObject({ ready: {} });
    t.frame('x');
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'too many bad frames' }]);
  });

  it('ping → pong with the same id; auth after ready for another user → LOCKSTEP_E_SUBJECT_MISMATCH', async () => {
    const t = await ready();
    t.frame({ type: 'ping', id: 'p1' });
    t.frame({ type: 'ping' });
    t.frame({ type: 'auth', token: 'mallory' });
    await flush();
    expect(t.rec.sent).toMatchObject([
      { type: 'pong', id: 'p1' },
      { type: 'pong' },
      { type: 'error', code: 'LOCKSTEP_E_SUBJECT_MISMATCH' },
    ]);
    expect(t.actor.getSnapshot().context.userId).toBe('alice');
  });

  it('stream events become event frames', async () => {
    const t = await ready();
    const event = { seq: 8, runId: 'r', event: 'agent_started' as const, data: {}, ts: 1 };
    t.actor.send({ type: 'stream.event', event, bufferedBytes: 0 });
    expect(t.rec.sent).toEqual([{ type: 'event', ...event }]);
    expect(t.actor.getSnapshot().context.lastSeq).toBe(8);
  });
});

describe('connection machine: timers and endings (I2, I10)', () => {
  it('heartbeat: ping every heartbeatMs; a pong keeps it alive; no pong by the next tick terminates', async () => {
    const t = connectionUnderTest({ limits: { heartbeatMs: 1000 } });
    await flush();
    t.clock.increment(999);
    expect(t.rec.pings).toBe(0);
    t.clock.increment(1);
    expect(t.rec.pings).toBe(1);
    t.actor.send({ type: 'socket.pong', payload: heartbeatPongPayload(t.actor.getSnapshot().context) });
    t.clock.increment(1000);
    expect(t.rec.pings).toBe(2);
    expect(t.rec.terminated).toBe(0);
    t.clock.increment(1000);
    expect(t.state()).toBe('terminating');
    expect(t.rec.terminated).toBe(1);
    t.actor.send({ type: 'socket.close', code: 1006, reason: '' });
    expect(t.actor.getSnapshot().status).toBe('done');
  });

  it('closing: a peer that never answers the close frame is terminated after closeTimeout', async () => {
    const t = connectionUnderTest({ limits: { closeTimeoutMs: 500 } });
    await flush();
    t.actor.send({ type: 'server.shutdown' });
    expect(t.rec.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
    t.clock.increment(499);
    expect(t.rec.terminated).toBe(0);
    t.clock.increment(1);
    expect(t.rec.terminated).toBe(1);
  });

  it('shutdown while handshaking → 1001', () => {
    const t = connectionUnderTest({ backend: new Promise(() => {}) });
    t.actor.send({ type: 'server.shutdown' });
    expect(t.rec.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
  });

  it('a socket error (ws already closing with 1009) is recorded and nothing more is written', async () => {
    const t = connectionUnderTest();
    await flush();
    t.rec.sent.length = 0;
    t.actor.send({ type: 'socket.error', message: 'Max payload size exceeded', closeCode: 1009 });
    expect(t.actor.getSnapshot().context.close.code).toBe(1009);
    t.actor.send({ type: 'stream.event', event: { seq: 1, runId: 'r', event: 'agent_started', data: {}, ts: 1 }, bufferedBytes: 0 });
    t.frame({ type: 'ping' });
    expect(t.rec.sent).toEqual([]);
  });

  it.each(['handshaking', 'ready', 'closing', 'terminating'])('socket.close in %s → closed (final), stream left', async (where) => {
    const t = connectionUnderTest({ backend: where === 'handshaking' ? new Promise(() => {}) : undefined, limits: { heartbeatMs: 10 } });
    await flush();
    if (where === 'closing') t.actor.send({ type: 'server.shutdown' });
    if (where === 'terminating') {
      t.clock.increment(10);
      t.clock.increment(10);
    }
    expect(JSON.stringify(t.state())).toContain(where);
    t.actor.send({ type: 'socket.close', code: 1000, reason: '' });
    expect(t.actor.getSnapshot().value).toBe('closed');
    expect(t.actor.getSnapshot().status).toBe('done');
    expect(t.rec.left).toBeGreaterThan(0);
  });
});

describe('connection machine: message rate (token bucket)', () => {
  it('refuses messages over the burst with LOCKSTEP_E_RATE_LIMITED, refills with time, closes 1008 on persistent excess', async () => {
    const t = connectionUnderTest({ limits: { messageBurst: 2, messageRate: 10, maxBadFrames: 3 } });
    await flush();
    t.rec.sent.length = 0;
    t.frame(msg('1'));
    t.frame(msg('2'));
    t.frame(msg('3'));
    t.frame({ type: 'ping' }); // not limited, and not a refusal
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['1', '2']);
    expect(t.rec.sent.find((f) => f.type === 'error')).toMatchObject({ code: 'LOCKSTEP_E_RATE_LIMITED', ref: '3' });

    t.clock.increment(100); // one token back (10/s)
    t.frame(msg('4'));
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['1', '2', '4']);
    t.clock.increment(100);
    t.clock.increment(100);
    // The bucket refills lazily, from the time the frames carry: no timer, no state for it.
    expect(connectionTokens(t.actor.getSnapshot().context.frames, t.clock.now(), t.actor.getSnapshot().context.limits)).toBe(2);

    for (const id of ['5', '6', '7', '8', '9']) t.frame(msg(id));
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'rate limit exceeded' }]);
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['1', '2', '4', '5', '6']);
  });
});

describe('connection machine: backpressure', () => {
  const event = (seq: number) => ({ seq, runId: 'r', event: 'agent_thinking' as const, data: {}, ts: 0 });
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

  it('stops writing at the high-water mark, and after the drain catches up from the log in order', async () => {
    const t = connectionUnderTest({ limits: { highWaterMarkBytes: 100 }, log: (after) => range(after + 1, 12) });
    await flush(); // ready, lastSeq 7
    t.rec.sent.length = 0;
    t.actor.send({ type: 'stream.event', event: event(8), bufferedBytes: 0 });
    t.actor.send({ type: 'stream.event', event: event(9), bufferedBytes: 100 });
    expect(t.state()).toMatchObject({ ready: { flow: 'congested' } });
    expect(t.rec.drainWatches).toBe(1);
    t.actor.send({ type: 'stream.event', event: event(10), bufferedBytes: 500 });
    t.actor.send({ type: 'socket.drain' });
    expect(t.rec.logReads).toEqual([8]);
    expect(t.state()).toMatchObject({ ready: { flow: 'flowing' } });
    t.actor.send({ type: 'stream.event', event: event(13), bufferedBytes: 0 });
    expect(t.rec.sent.map((f) => (f.type === 'event' ? f.seq : -1))).toEqual([8, 9, 10, 11, 12, 13]);
  });

  it('a consumer more than maxLagEvents behind is closed 1008 slow consumer', async () => {
    const t = connectionUnderTest({ limits: { highWaterMarkBytes: 100, maxLagEvents: 3 } });
    await flush();
    t.actor.send({ type: 'stream.event', event: event(8), bufferedBytes: 1000 });
    for (const seq of [9, 10]) t.actor.send({ type: 'stream.event', event: event(seq), bufferedBytes: 1000 });
    expect(t.state()).toMatchObject({ ready: { flow: 'congested' } });
    t.actor.send({ type: 'stream.event', event: event(11), bufferedBytes: 1000 });
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'slow consumer' }]);
  });

  it('a catch-up that finds events dropped by retention closes 1008 slow consumer', async () => {
    const t = connectionUnderTest({ limits: { highWaterMarkBytes: 100 }, log: () => undefined });
    await flush();
    t.actor.send({ type: 'stream.event', event: event(8), bufferedBytes: 1000 });
    t.actor.send({ type: 'socket.drain' });
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'slow consumer' }]);
  });
});

// ── Additional coverage with a self-contained driver (joining reachable, ready-flag check) ──

/** The shared harness, seen through the shape these tests were written against. */
function driver(opts: Omit<Parameters<typeof connectionUnderTest>[0] & object, 'joinLastSeq' | 'log'> = {}) {
  const t = connectionUnderTest({ ...opts, joinLastSeq: 0 });
  return {
    actor: t.actor,
    clock: t.clock,
    sent: t.rec.sent,
    closes: t.rec.closes,
    handled: t.rec.handled,
    handledBeforeReady: t.rec.handledBeforeReady,
    joins: t.rec.joins,
    frame: t.frame,
    terminated: () => t.rec.terminated,
    pings: () => t.rec.pings,
    state: t.state,
    ctx: () => t.actor.getSnapshot().context,
  };
}

const READY_VALUE = { ready: { flow: 'flowing', heartbeat: 'waiting', tokenExpiry: 'unbounded', tokenRefresh: 'idle' } };

describe('connection machine (driver): handshake → ready ordering', () => {
  it('messages sent while the backend is pending: ready first, then acks in arrival order, handler after ready only', async () => {
    const backend = deferred();
    const t = driver({ backend: () => backend.promise });
    for (const id of ['m1', 'm2', 'm3']) t.frame(msg(id));
    await flush();
    expect(t.state()).toEqual({ handshaking: 'checkingBackend' });
    expect(t.ctx().early).toHaveLength(3);
    expect(t.sent).toEqual([]);
    expect(t.handled).toEqual([]);

    backend.resolve();
    await flush();
    // Three messages took three tokens (the bucket refills lazily, with no state of its own).
    expect(t.state()).toEqual(READY_VALUE);
    expect(t.ctx().frames).toMatchObject({ runCount: 3, bucket: { tokens: DEFAULT_CONNECTION_LIMITS.messageBurst - 3 } });
    expect(t.sent[0]).toEqual({ type: 'ready', userId: 'alice', connectionId: 'c1', epoch: 'e1', lastSeq: 0, resumed: false });
    expect(t.sent.slice(1)).toEqual([
      { type: 'ack', id: 'm1', runId: 'c1.1' },
      { type: 'ack', id: 'm2', runId: 'c1.2' },
      { type: 'ack', id: 'm3', runId: 'c1.3' },
    ]);
    expect(t.handled.map((h) => h.message)).toEqual([msg('m1'), msg('m2'), msg('m3')]);
    expect(t.handled.every((h) => h.userId === 'alice' && h.connectionId === 'c1')).toBe(true);
    expect(t.handledBeforeReady).toEqual([]);
    expect(t.ctx().early).toEqual([]);
    expect(t.ctx().heldFrames).toBe(3);
  });

  it('frames sent after ready are not held and follow the released ones', async () => {
    const backend = deferred();
    const t = driver({ backend: () => backend.promise });
    t.frame(msg('early'));
    backend.resolve();
    await flush();
    t.frame(msg('late'));
    expect(t.handled.map((h) => h.message.id)).toEqual(['early', 'late']);
    expect(t.ctx().heldFrames).toBe(1);
  });

  it('replay events go right after ready and before held frames; resume failure reason is in the ready frame', async () => {
    const backend = deferred();
    const replay: StreamEvent[] = [
      { seq: 1, runId: 'r', event: 'agent_started', data: {}, ts: 1 },
      { seq: 2, runId: 'r', event: 'agent_completed', data: {}, ts: 2 },
    ];
    const t = driver({ backend: () => backend.promise, replay, resumeFailure: 'gap' });
    t.frame({ type: 'ping', id: 'p' });
    backend.resolve();
    await flush();
    expect(t.sent.map((f) => f.type)).toEqual(['ready', 'event', 'event', 'pong']);
    expect(t.sent[0]).toMatchObject({ type: 'ready', reason: 'gap' });
    expect(t.sent.slice(1, 3)).toEqual(replay.map((e) => ({ type: 'event', ...e })));
  });

  it('no upgrade token: auth frame is consumed by the handshake (never handled), later frames are held', async () => {
    const backend = deferred();
    const t = driver({ token: undefined, backend: () => backend.promise });
    t.frame({ type: 'auth', token: 'carol' });
    t.frame(msg('x'));
    await flush();
    // The auth frame moved the handshake on (it was not held); the message waits.
    expect(t.ctx().token).toBe('carol');
    expect(t.ctx().early).toHaveLength(1);
    backend.resolve();
    await flush();
    expect(t.sent[0]).toMatchObject({ type: 'ready', userId: 'carol' });
    expect(t.handled.map((h) => h.message.id)).toEqual(['x']);
    expect(t.handledBeforeReady).toEqual([]);
  });

  it('no upgrade token and a message as first frame → 4401 first frame must be auth, nothing handled', async () => {
    const t = driver({ token: undefined });
    t.frame(msg('m1'));
    await flush();
    expect(t.state()).toBe('closing');
    expect(t.closes).toEqual([{ code: 4401, reason: 'first frame must be auth' }]);
    expect(t.handled).toEqual([]);
    expect(t.sent).toEqual([]);
  });

  it('handshake rejection (bad token) → closeSocket 4401, no join', async () => {
    const t = driver({ token: 'bad', verify: () => Promise.reject(new Error('bad token')) });
    await flush();
    expect(t.closes).toEqual([{ code: 4401, reason: 'unauthorized' }]);
    expect(t.joins).toEqual([]);
    expect(t.ctx().close.code).toBe(4401);
  });

  it('auth timeout (the connection’s authTimeout delay on its clock) → 4408', async () => {
    const t = driver({ token: undefined, limits: { authTimeoutMs: 300 } });
    t.clock.increment(299);
    expect(t.state()).toEqual({ handshaking: { authenticating: 'awaitingCredentials' } });
    t.clock.increment(1);
    await flush();
    expect(t.closes).toEqual([{ code: 4408, reason: 'auth timeout' }]);
  });

  it('backend that never answers → 1013 backend readiness timeout, held frames never handled', async () => {
    const t = driver({ backend: () => new Promise(() => {}), limits: { backendTimeoutMs: 400 } });
    await flush();
    t.frame(msg('m'));
    t.clock.increment(400);
    await flush();
    expect(t.closes).toEqual([{ code: 1013, reason: 'backend readiness timeout' }]);
    expect(t.handled).toEqual([]);
  });

  it('a delivery layer that never answers the join (Redis frozen) → 1013 stream join timeout at joinTimeoutMs, held frames never handled', async () => {
    const t = connectionUnderTest({ autoJoin: false, limits: { joinTimeoutMs: 500 } });
    await flush();
    expect(t.state()).toBe('joining');
    t.frame(msg('m'));
    t.clock.increment(499);
    expect(t.state()).toBe('joining');
    t.clock.increment(1);
    await flush();
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1013, reason: 'stream join timeout' }]);
    expect(t.rec.sent).toEqual([]);
    expect(t.rec.handled).toEqual([]);
  });

  it('early overflow: maxEarlyFrames=3, the 4th early frame closes 1008 too many frames before ready', async () => {
    const t = driver({ backend: () => new Promise(() => {}), limits: { maxEarlyFrames: 3 } });
    t.frame(msg('1'));
    t.frame(msg('2'));
    t.frame(msg('3'));
    expect(t.state()).toEqual({ handshaking: { authenticating: 'verifying' } });
    t.frame(msg('4'));
    expect(t.state()).toBe('closing');
    expect(t.closes).toEqual([{ code: 1008, reason: 'too many frames before ready' }]);
    expect(t.handled).toEqual([]);
  });

  it('early overflow also applies in joining', async () => {
    const t = driver({ autoJoin: false, limits: { maxEarlyFrames: 2 } });
    await flush();
    expect(t.state()).toBe('joining');
    t.frame(msg('1'));
    t.frame(msg('2'));
    expect(t.state()).toBe('joining');
    t.frame(msg('3'));
    expect(t.closes).toEqual([{ code: 1008, reason: 'too many frames before ready' }]);
  });
});

describe('connection machine (driver): joining', () => {
  it('joining holds frames until stream.joined, then ready + release', async () => {
    const t = driver({ autoJoin: false });
    await flush();
    expect(t.state()).toBe('joining');
    expect(t.joins).toEqual([{ connectionId: 'c1', userId: 'alice' }]);
    t.frame(msg('j'));
    expect(t.handled).toEqual([]);
    t.actor.send({ type: 'stream.joined', epoch: 'e9', lastSeq: 3, resumed: true, replay: [] });
    expect(t.sent[0]).toEqual({ type: 'ready', userId: 'alice', connectionId: 'c1', epoch: 'e9', lastSeq: 3, resumed: true });
    expect(t.handled.map((h) => h.message.id)).toEqual(['j']);
    expect(t.handledBeforeReady).toEqual([]);
  });

  it('stream.refused → 1008 with the given reason', async () => {
    const t = driver({ autoJoin: false });
    await flush();
    t.actor.send({ type: 'stream.refused', reason: 'too many connections' });
    expect(t.closes).toEqual([{ code: 1008, reason: 'too many connections' }]);
  });
});

describe('connection machine (driver): frames when ready', () => {
  async function readyDriver(limits: Partial<ConnectionLimits> = {}) {
    const t = driver({ limits });
    await flush();
    expect(t.state()).toEqual(READY_VALUE);
    t.sent.length = 0;
    return t;
  }

  it('error frames: BAD_JSON, BAD_FRAME with ref, UNKNOWN_TYPE, BINARY_UNSUPPORTED (data null)', async () => {
    const t = await readyDriver();
    t.frame('{not json');
    t.frame({ type: 'message', id: 'ref-1', text: 42 });
    t.frame({ type: 'teleport' });
    t.frame(null);
    expect(t.sent.map((f) => (f.type === 'error' ? [f.code, f.ref] : f.type))).toEqual([
      ['LOCKSTEP_E_BAD_JSON', undefined],
      ['LOCKSTEP_E_BAD_FRAME', 'ref-1'],
      ['LOCKSTEP_E_UNKNOWN_TYPE', undefined],
      ['LOCKSTEP_E_BINARY_UNSUPPORTED', undefined],
    ]);
    expect(t.sent.every((f) => f.type === 'error' && typeof f.message === 'string' && f.message.length > 0)).toBe(true);
    expect(t.sent.some((f) => 'ref' in f && f.type === 'error' && f.code !== 'LOCKSTEP_E_BAD_FRAME')).toBe(false);
    expect(t.ctx().frames.badFrames).toBe(4);
    expect(t.handled).toEqual([]);
  });

  it('maxBadFrames in a row → error frame for the last one, then closeSocket 1008 too many bad frames', async () => {
    const t = await readyDriver({ maxBadFrames: 3 });
    t.frame('x');
    t.frame(null);
    expect(t.state()).toMatchObject({ ready: {} });
    t.frame({ type: 'zzz' });
    expect(t.state()).toBe('closing');
    expect(t.sent.map((f) => f.type)).toEqual(['error', 'error', 'error']);
    expect(t.closes).toEqual([{ code: 1008, reason: 'too many bad frames' }]);
  });

  it('a valid message in between takes one off the bad-frame count', async () => {
    const t = await readyDriver({ maxBadFrames: 2 });
    t.frame('x');
    expect(t.ctx().frames.badFrames).toBe(1);
    t.frame(msg('ok'));
    expect(t.ctx().frames.badFrames).toBe(0);
    t.frame(msg('ok2'));
    expect(t.ctx().frames.badFrames).toBe(0);
    t.frame('x');
    expect(t.state()).toMatchObject({ ready: {} });
    t.frame('x');
    expect(t.state()).toBe('closing');
  });

  it('bad frames held before ready count after ready', async () => {
    const backend = deferred();
    const t = driver({ backend: () => backend.promise, limits: { maxBadFrames: 2 } });
    t.frame('x');
    t.frame('y');
    t.frame(msg('never'));
    backend.resolve();
    await flush();
    expect(t.sent.map((f) => f.type)).toEqual(['ready', 'error', 'error']);
    expect(t.closes).toEqual([{ code: 1008, reason: 'too many bad frames' }]);
    expect(t.handled).toEqual([]);
  });

  it('ping → pong with id; ping without id → pong without id', async () => {
    const t = await readyDriver();
    t.frame({ type: 'ping', id: 'abc' });
    t.frame({ type: 'ping' });
    expect(t.sent).toEqual([{ type: 'pong', id: 'abc' }, { type: 'pong' }]);
  });

  it('auth after ready for another user → LOCKSTEP_E_SUBJECT_MISMATCH, user unchanged, not a bad frame', async () => {
    const t = await readyDriver();
    t.frame({ type: 'auth', token: 'eve' });
    await flush();
    expect(t.sent).toMatchObject([{ type: 'error', code: 'LOCKSTEP_E_SUBJECT_MISMATCH' }]);
    expect(t.ctx().userId).toBe('alice');
    expect(t.ctx().frames.badFrames).toBe(0);
  });

  it('stream.event → event frame, lastSeq advanced', async () => {
    const t = await readyDriver();
    const event: StreamEvent = { seq: 1, runId: 'c1.1', event: 'agent_thinking', data: { a: 1 }, ts: 5 };
    t.actor.send({ type: 'stream.event', event, bufferedBytes: 0 });
    expect(t.sent).toEqual([{ type: 'event', ...event }]);
    expect(t.ctx().lastSeq).toBe(1);
  });

  it('message.accepted duplicate → ack with duplicate: true', async () => {
    const t = await readyDriver();
    t.actor.send({ type: 'message.accepted', id: 'm', runId: 'c0.1', duplicate: true });
    expect(t.sent).toEqual([{ type: 'ack', id: 'm', runId: 'c0.1', duplicate: true }]);
  });
});

describe('connection machine (driver): heartbeat, shutdown, close', () => {
  it('heartbeat: ping at heartbeatMs, pong → waiting, no pong for another heartbeatMs → terminating', async () => {
    const t = driver({ limits: { heartbeatMs: 100 } });
    await flush();
    t.clock.increment(99);
    expect(t.pings()).toBe(0);
    t.clock.increment(1);
    expect(t.pings()).toBe(1);
    expect(t.state()).toMatchObject({ ready: { heartbeat: 'awaitingPong' } });
    t.actor.send({ type: 'socket.pong', payload: heartbeatPongPayload(t.actor.getSnapshot().context) });
    expect(t.state()).toMatchObject({ ready: { heartbeat: 'waiting' } });
    t.clock.increment(100);
    expect(t.pings()).toBe(2);
    t.clock.increment(99);
    expect(t.terminated()).toBe(0);
    t.clock.increment(1);
    expect(t.state()).toBe('terminating');
    expect(t.terminated()).toBe(1);
    expect(t.closes).toEqual([]);
  });

  it('server.shutdown in handshaking → 1001', () => {
    const t = driver({ backend: () => new Promise(() => {}) });
    t.actor.send({ type: 'server.shutdown' });
    expect(t.state()).toBe('closing');
    expect(t.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
  });

  it('server.shutdown in joining → 1001', async () => {
    const t = driver({ autoJoin: false });
    await flush();
    expect(t.state()).toBe('joining');
    t.actor.send({ type: 'server.shutdown' });
    expect(t.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
  });

  it('stream.lost in ready → 1001 "stream lost, resume" (the log started a new epoch or failed)', async () => {
    const t = connectionUnderTest({});
    await flush();
    t.actor.send({ type: 'stream.lost' });
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1001, reason: 'stream lost, resume' }]);
  });

  it('server.shutdown in ready → 1001; closing + closeTimeoutMs → terminateSocket', async () => {
    const t = driver({ limits: { closeTimeoutMs: 250 } });
    await flush();
    t.actor.send({ type: 'server.shutdown' });
    expect(t.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
    t.clock.increment(249);
    expect(t.state()).toBe('closing');
    t.clock.increment(1);
    expect(t.state()).toBe('terminating');
    expect(t.terminated()).toBe(1);
  });

  it('nothing is written in closing (frames, events, pings ignored)', async () => {
    const t = driver({ limits: { heartbeatMs: 10 } });
    await flush();
    t.actor.send({ type: 'server.shutdown' });
    t.sent.length = 0;
    t.frame({ type: 'ping' });
    t.actor.send({ type: 'stream.event', event: { seq: 1, runId: 'r', event: 'agent_started', data: {}, ts: 0 }, bufferedBytes: 0 });
    t.actor.send({ type: 'server.shutdown' });
    t.clock.increment(10);
    expect(t.sent).toEqual([]);
    expect(t.pings()).toBe(0);
    expect(t.closes).toHaveLength(1);
  });

  it.each(['handshaking', 'joining', 'ready', 'closing', 'terminating'] as const)(
    'socket.close from %s → done, value closed, peer code recorded',
    async (where) => {
      const t = driver({
        backend: where === 'handshaking' ? () => new Promise(() => {}) : undefined,
        autoJoin: where !== 'joining',
        limits: { heartbeatMs: 10 },
      });
      await flush();
      if (where === 'closing') t.actor.send({ type: 'server.shutdown' });
      if (where === 'terminating') {
        // SimulatedClock does not fire a timer scheduled during the same increment: two steps.
        t.clock.increment(10);
        t.clock.increment(10);
      }
      const value = t.state();
      expect(typeof value === 'string' ? value : Object.keys(value)[0]).toBe(where);
      t.actor.send({ type: 'socket.close', code: 4000, reason: 'bye' });
      expect(t.actor.getSnapshot().status).toBe('done');
      expect(t.state()).toBe('closed');
      expect(t.ctx().close.peerCode).toBe(4000);
    },
  );

  it('socket.error {closeCode:1009} → closing with closeCode 1009 and the message recorded', async () => {
    const t = driver();
    await flush();
    t.actor.send({ type: 'socket.error', message: 'Max payload size exceeded', closeCode: 1009 });
    expect(t.state()).toBe('closing');
    expect(t.ctx().close.code).toBe(1009);
    expect(t.ctx().close.socketError).toBe('Max payload size exceeded');
    expect(t.closes).toEqual([{ code: 1009, reason: 'Max payload size exceeded' }]);
  });

  it('socket.error while handshaking → closing 1009 too', () => {
    const t = driver({ backend: () => new Promise(() => {}) });
    t.actor.send({ type: 'socket.error', message: 'too big', closeCode: 1009 });
    expect(t.state()).toBe('closing');
    expect(t.ctx().close.code).toBe(1009);
  });
});

describe('connection machine: cancel frames', () => {
  it('a cancel frame asks the server to stop the run (a valid frame); a refusal becomes LOCKSTEP_E_RUN_NOT_CANCELLABLE with ref = the run id', async () => {
    const t = connectionUnderTest({ limits: { maxBadFrames: 1 } });
    await flush();
    t.rec.sent.length = 0;
    t.frame({ type: 'cancel', runId: 'c1.4' });
    expect(t.rec.cancels).toEqual([{ userId: 'alice', runId: 'c1.4' }]);
    t.actor.send({ type: 'cancel.refused', runId: 'c1.4' });
    expect(t.rec.sent).toEqual([
      { type: 'error', code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', message: expect.any(String), ref: 'c1.4' },
    ]);
    // Neither the cancel nor its refusal is a bad frame: with maxBadFrames 1 the connection stays.
    expect(t.actor.getSnapshot().context.frames.badFrames).toBe(0);
    expect(t.state()).toMatchObject({ ready: { flow: 'flowing' } });
    // A refusal that finds the socket at its hard bound ends the connection like any other write.
    t.actor.send({ type: 'cancel.refused', runId: 'c1.5', bufferedBytes: DEFAULT_CONNECTION_LIMITS.maxOutgoingBytes });
    expect(t.state()).toBe('terminating');
  });
});
