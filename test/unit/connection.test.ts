import { describe, expect, it } from 'vitest';
import { connectionUnderTest, deferred, flush } from './harness.js';

const msg = (id: string) => ({ type: 'message', id, text: `text ${id}` });

describe('connection machine: early frames (I1, I3)', () => {
  it('holds frames while the backend warms up, then sends ready first and handles them in order', async () => {
    const backend = deferred();
    const t = connectionUnderTest({ backend: backend.promise });
    t.frame(msg('a'));
    t.frame('{bad');
    t.frame(msg('b'));
    await flush();
    expect(t.state()).toBe('handshaking');
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
    expect(t.state()).toEqual({ ready: { flow: 'flowing', heartbeat: 'waiting', messageRate: 'full' } });
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

  it('maxBadFrames in a row → 1008; a valid frame resets the count', async () => {
    const t = await ready({ maxBadFrames: 3 });
    t.frame('x');
    t.frame('x');
    t.frame({ type: 'ping' });
    t.frame('x');
    t.frame('x');
    expect(t.state()).toMatchObject({ ready: {} });
    t.frame('x');
    expect(t.state()).toBe('closing');
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'too many bad frames' }]);
  });

  it('ping → pong with the same id; auth after ready → LOCKSTEP_E_ALREADY_AUTHENTICATED', async () => {
    const t = await ready();
    t.frame({ type: 'ping', id: 'p1' });
    t.frame({ type: 'ping' });
    t.frame({ type: 'auth', token: 'mallory' });
    expect(t.rec.sent).toMatchObject([
      { type: 'pong', id: 'p1' },
      { type: 'pong' },
      { type: 'error', code: 'LOCKSTEP_E_ALREADY_AUTHENTICATED' },
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
    t.actor.send({ type: 'socket.pong' });
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
    expect(t.actor.getSnapshot().context.closeCode).toBe(1009);
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
    expect(t.actor.getSnapshot().context.messageTokens).toBe(2);
    expect(t.state()).toMatchObject({ ready: { messageRate: 'full' } });

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
