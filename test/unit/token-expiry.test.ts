/** The connection machine's tokenExpiry and tokenRefresh regions, driven by a SimulatedClock. */
import { describe, expect, it } from 'vitest';
import { connectionUnderTest, deferred, flush } from './harness.js';
import { MAX_TIMER_MS } from '../../machines/connection.js';
import type { VerifiedIdentity } from '../../machines/handshake.js';

// Tokens in these tests: "<user>:<ms until expiry>" verified at wall time 1_000_000.
const verify = async (token: string): Promise<VerifiedIdentity> => {
  const [userId = '', ms] = token.split(':');
  return ms === undefined ? { userId, verifiedAt: 1_000_000 } : { userId, expiresAt: 1_000_000 + Number(ms), verifiedAt: 1_000_000 };
};

describe('connection machine: token expiry', () => {
  it('closes 4401 "token expired" exactly when the token expires', async () => {
    const t = connectionUnderTest({ token: 'alice:5000', verify });
    await flush();
    expect(t.rec.sent[0]).toMatchObject({ type: 'ready', userId: 'alice' });
    t.clock.increment(4_999);
    expect(t.rec.closes).toEqual([]);
    t.clock.increment(1);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });

  it('a token without expiry never closes the connection', async () => {
    const t = connectionUnderTest({ token: 'alice', verify, limits: { heartbeatMs: 10 ** 9 } });
    await flush();
    t.clock.increment(10 ** 8);
    expect(t.rec.closes).toEqual([]);
  });

  it('an expiry beyond one timer (2^31-1 ms) waits in steps and still closes on time', async () => {
    const t = connectionUnderTest({ token: `alice:${MAX_TIMER_MS + 10}`, verify, limits: { heartbeatMs: 2 ** 31 - 1 } });
    await flush();
    // Keep the heartbeat satisfied so only the expiry can close.
    t.clock.increment(MAX_TIMER_MS);
    t.actor.send({ type: 'socket.pong' });
    expect(t.rec.closes).toEqual([]);
    t.clock.increment(10);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });

  it('a token already expired at verification is refused at the handshake (4401 token expired)', async () => {
    const t = connectionUnderTest({ token: 'alice:0', verify });
    await flush();
    expect(t.rec.sent).toEqual([]);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });

  it('a subject with a newline is refused at the handshake (4401 invalid subject)', async () => {
    const t = connectionUnderTest({ token: 'alice\nroot', verify });
    await flush();
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'invalid subject' }]);
  });
});

describe('connection machine: token refresh', () => {
  it('same subject: auth_ok with the new expiry, and the timer restarts from it', async () => {
    const t = connectionUnderTest({ token: 'alice:5000', verify });
    await flush();
    t.clock.increment(4_000);
    t.frame({ type: 'auth', token: 'alice:60000' });
    await flush();
    expect(t.rec.sent.at(-1)).toEqual({ type: 'auth_ok', userId: 'alice', expiresAt: 1_060_000 });
    t.clock.increment(59_999);
    expect(t.rec.closes).toEqual([]);
    t.clock.increment(1);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });

  it('the old expiry still runs while a refresh is verified; frames meanwhile are handled at once', async () => {
    const pending = deferred();
    const t = connectionUnderTest({
      token: 'alice:5000',
      verify: (token) => (token.startsWith('slow') ? pending.promise.then(() => ({ userId: 'alice' })) : verify(token)),
    });
    await flush();
    t.frame({ type: 'auth', token: 'slow' });
    t.frame({ type: 'ping', id: 'p' });
    t.frame({ type: 'auth', token: 'alice:1' });
    expect(t.rec.sent.slice(1)).toEqual([
      { type: 'pong', id: 'p' },
      expect.objectContaining({ type: 'error', code: 'LOCKSTEP_E_ALREADY_AUTHENTICATED' }),
    ]);
    t.clock.increment(5_000);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });

  it('another subject: LOCKSTEP_E_SUBJECT_MISMATCH, identity and expiry kept', async () => {
    const t = connectionUnderTest({ token: 'alice:5000', verify });
    await flush();
    t.frame({ type: 'auth', token: 'mallory:60000' });
    await flush();
    expect(t.rec.sent.at(-1)).toMatchObject({ type: 'error', code: 'LOCKSTEP_E_SUBJECT_MISMATCH' });
    expect(t.actor.getSnapshot().context.userId).toBe('alice');
    t.clock.increment(5_000);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });

  it('a rejected or already expired refresh: LOCKSTEP_E_INVALID_TOKEN, old expiry kept', async () => {
    const t = connectionUnderTest({ token: 'alice:5000', verify: (token) => (token === 'bad' ? Promise.reject(new Error('bad')) : verify(token)) });
    await flush();
    t.frame({ type: 'auth', token: 'bad' });
    await flush();
    t.frame({ type: 'auth', token: 'alice:0' });
    await flush();
    expect(t.rec.sent.slice(1).map((f) => (f.type === 'error' ? f.code : f.type))).toEqual(['LOCKSTEP_E_INVALID_TOKEN', 'LOCKSTEP_E_INVALID_TOKEN']);
    t.clock.increment(5_000);
    expect(t.rec.closes).toEqual([{ code: 4401, reason: 'token expired' }]);
  });
});
