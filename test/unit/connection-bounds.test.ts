import { describe, expect, it } from 'vitest';
import { earlyRefusal, heartbeatNonce, heldFrameBytes, nextBadFrameCount, outgoingOverLimit } from '../../machines/connection-bounds.js';
import { tokensAfterSpend, tokensAt } from '../../machines/user-rate.js';
import { UserRateBuckets } from '../../src/server/user-rate-buckets.js';
import { heartbeatPongPayload } from '../../machines/connection.js';
import { connectionUnderTest, flush } from './harness.js';

const MiB = 1024 * 1024;
const msg = (id: string) => ({ type: 'message', id, text: `text ${id}` });

describe('connection bounds (pure rules)', () => {
  it('outgoingOverLimit: at or over the bound; an absent fact never is', () => {
    expect(outgoingOverLimit({ bufferedBytes: 4 * MiB }, 4 * MiB)).toBe(true);
    expect(outgoingOverLimit({ bufferedBytes: 4 * MiB - 1 }, 4 * MiB)).toBe(false);
    expect(outgoingOverLimit({}, 4 * MiB)).toBe(false);
  });

  it('heldFrameBytes: the wire size, else the string length; binary frames are held as null (0)', () => {
    expect(heldFrameBytes('héllo', { bytes: 6 })).toBe(6);
    expect(heldFrameBytes('hello', {})).toBe(5);
    expect(heldFrameBytes(null, { bytes: 1000 })).toBe(0);
  });

  it('earlyRefusal: frame count and bytes per connection, then the server-wide budget', () => {
    const limits = { maxEarlyFrames: 3, maxEarlyBytes: 100, maxEarlyBytesTotal: 1000 };
    expect(earlyRefusal({ frames: 0, bytes: 0 }, 100, {}, limits)).toBeUndefined();
    expect(earlyRefusal({ frames: 1, bytes: 100 }, 1, {}, limits)).toBe('connection');
    expect(earlyRefusal({ frames: 3, bytes: 0 }, 1, {}, limits)).toBe('connection');
    expect(earlyRefusal({ frames: 0, bytes: 0 }, 50, { earlyBytesTotal: 960 }, limits)).toBe('server');
    expect(earlyRefusal({ frames: 0, bytes: 0 }, 40, { earlyBytesTotal: 960 }, limits)).toBeUndefined();
  });

  it('nextBadFrameCount: +1 per refused frame, -1 per valid one, never below 0; 19 bad + 1 good twice reaches 20', () => {
    expect(nextBadFrameCount(0, false)).toBe(0);
    expect(nextBadFrameCount(3, false)).toBe(2);
    let count = 0;
    for (let round = 0; round < 2; round += 1) {
      for (let i = 0; i < 19 && count < 20; i += 1) count = nextBadFrameCount(count, true);
      if (count < 20) count = nextBadFrameCount(count, false);
    }
    expect(count).toBe(20);
  });

  it('heartbeatNonce: seed and ping number', () => {
    expect(heartbeatNonce('s', 2)).toBe('s.2');
    expect(heartbeatPongPayload({ pingSeed: 's', pingsSent: 2 })).toBe('s.2');
  });

  it('user bucket: refills at rate up to burst; spends into a debt of at most burst', () => {
    expect(tokensAt(undefined, 0, 2, 4)).toBe(4);
    expect(tokensAt({ tokens: 0, atMs: 0 }, 500, 2, 4)).toBe(1);
    expect(tokensAt({ tokens: 3, atMs: 0 }, 10_000, 2, 4)).toBe(4);
    expect(tokensAt({ tokens: 1, atMs: 1000 }, 500, 2, 4)).toBe(1); // a clock read before the last spend refills nothing
    expect(tokensAfterSpend(-4, 4)).toBe(-4);
    expect(tokensAfterSpend(1, 4)).toBe(0);
  });

  it('UserRateBuckets: one bucket per user, refilled on the injected clock', () => {
    let now = 0;
    const buckets = new UserRateBuckets(1, 2, () => now);
    buckets.spend('alice');
    buckets.spend('alice');
    expect(buckets.tokens('alice')).toBe(0);
    expect(buckets.tokens('bob')).toBe(2);
    now = 1000;
    expect(buckets.tokens('alice')).toBe(1);
    buckets.spend('alice');
    expect(buckets.tokens('alice')).toBe(0);
    now = 5000;
    expect(buckets.tokens('alice')).toBe(2);
  });
});

describe('connection machine: the new guards', () => {
  async function ready(limits = {}) {
    const t = connectionUnderTest({ limits });
    await flush();
    t.rec.sent.length = 0;
    return t;
  }
  const closeOf = (t: Awaited<ReturnType<typeof ready>>) => t.actor.getSnapshot().context.close;

  it('a frame arriving while the socket holds maxOutgoingBytes: terminated at once, recorded 1008, nothing written', async () => {
    const t = await ready({ maxOutgoingBytes: 1000 });
    t.actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'ping', id: 'p' }), bufferedBytes: 999 });
    expect(t.rec.sent).toEqual([{ type: 'pong', id: 'p' }]);
    t.actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'ping', id: 'p' }), bufferedBytes: 1000 });
    expect(t.state()).toBe('terminating');
    expect(t.rec.terminated).toBe(1);
    expect(t.rec.sent).toHaveLength(1);
    expect(closeOf(t)).toMatchObject({ code: 1008, reason: 'send buffer over limit' });
  });

  it('an ack or an event over the bound ends the connection the same way (no ack dropped silently)', async () => {
    const t = await ready({ maxOutgoingBytes: 1000 });
    t.actor.send({ type: 'message.accepted', id: 'm', runId: 'r', duplicate: false, bufferedBytes: 5000 });
    expect(t.state()).toBe('terminating');
    expect(t.rec.sent).toEqual([]);
    const u = await ready({ maxOutgoingBytes: 1000 });
    u.actor.send({ type: 'stream.event', event: { seq: 8, runId: 'r', event: 'agent_started', data: {}, ts: 1 }, bufferedBytes: 1000 });
    expect(u.state()).toBe('terminating');
    expect(closeOf(u)).toMatchObject({ code: 1008, reason: 'send buffer over limit' });
  });

  it('heartbeat: an unsolicited pong (wrong payload, or none) keeps nothing alive; the echo of the nonce does', async () => {
    const t = await ready({ heartbeatMs: 100 });
    t.clock.increment(100);
    expect(t.rec.pings).toBe(1);
    t.actor.send({ type: 'socket.pong' });
    t.actor.send({ type: 'socket.pong', payload: 'c1.0' });
    expect(t.state()).toMatchObject({ ready: { heartbeat: 'awaitingPong' } });
    t.actor.send({ type: 'socket.pong', payload: 'c1.1' });
    expect(t.state()).toMatchObject({ ready: { heartbeat: 'waiting' } });
    t.clock.increment(100);
    // The next ping has the next nonce: replaying the old one does not answer it.
    t.actor.send({ type: 'socket.pong', payload: 'c1.1' });
    t.clock.increment(100);
    expect(t.state()).toBe('terminating');
  });

  it('early frames: over maxEarlyBytes → 1008; over the server-wide budget → 1013', async () => {
    const t = connectionUnderTest({ backend: new Promise(() => {}), limits: { maxEarlyBytes: 100 } });
    t.actor.send({ type: 'socket.frame', data: 'x'.repeat(60) });
    expect(t.actor.getSnapshot().context.earlyBytes).toBe(60);
    t.actor.send({ type: 'socket.frame', data: 'x'.repeat(41) });
    expect(t.rec.closes).toEqual([{ code: 1008, reason: 'too many frames before ready' }]);
    const u = connectionUnderTest({ backend: new Promise(() => {}), limits: { maxEarlyBytesTotal: 1000 } });
    u.actor.send({ type: 'socket.frame', data: 'x'.repeat(60), earlyBytesTotal: 950 });
    expect(u.rec.closes).toEqual([{ code: 1013, reason: 'early-frame budget exhausted' }]);
  });

  it('released early frames free their bytes', async () => {
    const t = connectionUnderTest();
    t.actor.send({ type: 'socket.frame', data: JSON.stringify(msg('a')) });
    expect(t.actor.getSnapshot().context.earlyBytes).toBeGreaterThan(0);
    await flush();
    expect(t.actor.getSnapshot().context.earlyBytes).toBe(0);
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['a']);
  });

  it("per-user bucket: a message when the user's shared tokens are below 1 is refused; accepted ones spend", async () => {
    const t = await ready();
    t.actor.send({ type: 'socket.frame', data: JSON.stringify(msg('a')), userTokens: 1 });
    t.actor.send({ type: 'socket.frame', data: JSON.stringify(msg('b')), userTokens: 0.5 });
    expect(t.rec.handled.map((h) => h.message.id)).toEqual(['a']);
    expect(t.rec.spent).toEqual(['alice']);
    expect(t.rec.sent.at(-1)).toMatchObject({ type: 'error', code: 'LOCKSTEP_E_RATE_LIMITED', ref: 'b' });
    expect(t.actor.getSnapshot().context.frames.badFrames).toBe(1);
  });
});
