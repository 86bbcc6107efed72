/**
 * The handshake as states of the connection machine (`handshaking.*`), driven synchronously:
 * the machine asks for verification and readiness (the `verifyToken` / `checkBackend` effects,
 * recorded here) and the test reports the facts the adapter would (`auth.verified`,
 * `auth.refused`, `backend.ready`, `backend.unavailable`). Time is a SimulatedClock.
 */
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';

const AUTH = (token: string) => JSON.stringify({ type: 'auth', token });

function handshake(token: string | undefined, limits = { authTimeoutMs: 1000, backendTimeoutMs: 2000 }) {
  const clock = new SimulatedClock();
  const verifiedTokens: string[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const joins: string[] = [];
  let backendChecks = 0;
  const machine = connectionMachine.provide({
    actions: {
      verifyToken: (_, p) => void verifiedTokens.push(p.token),
      checkBackend: () => void (backendChecks += 1),
      closeSocket: (_, p) => void closes.push(p),
      joinStream: (_, p) => void joins.push(p.userId),
    },
  });
  const actor = createActor(machine, { clock, input: { connectionId: 'c', token, limits: { ...DEFAULT_CONNECTION_LIMITS, ...limits } } });
  actor.start();
  const snap = () => actor.getSnapshot();
  return {
    actor,
    clock,
    verifiedTokens,
    closes,
    joins,
    backendChecks: () => backendChecks,
    snap,
    value: () => snap().value,
    frame: (data: string | null) => actor.send({ type: 'socket.frame', data, atMs: clock.now() }),
    /** The close the machine decided (code, reason), once it left the handshake. */
    verdict: () => ({ code: snap().context.close.code, reason: snap().context.close.reason }),
  };
}

describe('handshake (connection machine handshaking.*)', () => {
  it('upgrade token: verifying → checkingBackend → joining; the verified user id (not the token) is the user', () => {
    const h = handshake('tok-1');
    expect(h.value()).toEqual({ handshaking: { authenticating: 'verifying' } });
    expect(h.verifiedTokens).toEqual(['tok-1']);
    h.actor.send({ type: 'auth.verified', userId: 'user-42' });
    expect(h.value()).toEqual({ handshaking: 'checkingBackend' });
    expect(h.snap().context.userId).toBe('user-42');
    expect(h.backendChecks()).toBe(1);
    h.actor.send({ type: 'backend.ready' });
    expect(h.value()).toBe('joining');
    expect(h.joins).toEqual(['user-42']);
    expect(h.closes).toEqual([]);
  });

  it('no token: waits for the auth frame, whose token is what gets verified; a second auth frame is held, not verified', () => {
    const h = handshake(undefined);
    expect(h.value()).toEqual({ handshaking: { authenticating: 'awaitingCredentials' } });
    expect(h.verifiedTokens).toEqual([]);
    h.frame(AUTH('from-frame'));
    expect(h.value()).toEqual({ handshaking: { authenticating: 'verifying' } });
    expect(h.verifiedTokens).toEqual(['from-frame']);
    h.frame(AUTH('other'));
    expect(h.verifiedTokens).toEqual(['from-frame']);
    expect(h.snap().context.early).toEqual([AUTH('other')]);
    h.actor.send({ type: 'auth.verified', userId: 'bob' });
    h.actor.send({ type: 'backend.ready' });
    expect(h.joins).toEqual(['bob']);
  });

  it.each([
    ['a message', JSON.stringify({ type: 'message', id: '1', text: 'x' })],
    ['bad JSON', '{'],
    ['binary', null],
    ['auth without token', JSON.stringify({ type: 'auth' })],
    ['ping', JSON.stringify({ type: 'ping' })],
    ['unknown type', JSON.stringify({ type: 'hello' })],
    ['auth with empty token', JSON.stringify({ type: 'auth', token: '' })],
    ['auth with numeric token', JSON.stringify({ type: 'auth', token: 7 })],
    ['JSON array', '[]'],
  ])('no token + first frame %s → 4401 first frame must be auth, verifier never asked, frame not held', (_name, data) => {
    const h = handshake(undefined);
    h.frame(data);
    expect(h.value()).toBe('closing');
    expect(h.closes).toEqual([{ code: 4401, reason: 'first frame must be auth' }]);
    expect(h.verifiedTokens).toEqual([]);
    expect(h.snap().context.early).toEqual([]);
  });

  it('no credentials within authTimeout → 4408, not a millisecond earlier', () => {
    const h = handshake(undefined);
    h.clock.increment(999);
    expect(h.value()).toEqual({ handshaking: { authenticating: 'awaitingCredentials' } });
    h.clock.increment(1);
    expect(h.closes).toEqual([{ code: 4408, reason: 'auth timeout' }]);
  });

  it('a verifier that hangs is cut off by the same authTimeout → 4408', () => {
    const h = handshake('alice');
    h.clock.increment(1000);
    expect(h.closes).toEqual([{ code: 4408, reason: 'auth timeout' }]);
  });

  it('auth timeout spans frame + verification: a verifier hanging after a late auth frame → 4408 at the original deadline; a late answer changes nothing', () => {
    const h = handshake(undefined);
    h.clock.increment(600);
    h.frame(AUTH('t'));
    h.clock.increment(399);
    expect(h.value()).toEqual({ handshaking: { authenticating: 'verifying' } });
    h.clock.increment(1);
    expect(h.verdict()).toEqual({ code: 4408, reason: 'auth timeout' });
    h.actor.send({ type: 'auth.verified', userId: 'late' });
    expect(h.verdict()).toEqual({ code: 4408, reason: 'auth timeout' });
    expect(h.value()).toBe('closing');
    expect(h.backendChecks()).toBe(0);
  });

  it('verifier refuses → 4401 unauthorized (its message is not the close reason), backend never checked', () => {
    const h = handshake('bad');
    h.actor.send({ type: 'auth.refused', reason: 'bad signature' });
    expect(h.closes).toEqual([{ code: 4401, reason: 'unauthorized' }]);
    expect(h.backendChecks()).toBe(0);
  });

  it.each([
    ['a subject with a newline', { userId: 'a\nb' }, 'invalid subject'],
    ['no string user id', { userId: undefined as unknown as string }, 'invalid subject'],
    ['a token already expired at verification', { userId: 'u', expiresAt: 1000, verifiedAt: 1000 }, 'token expired'],
    ['a non-finite expiry', { userId: 'u', expiresAt: Number.NaN }, 'unauthorized'],
  ])('verified but %s → 4401 %s', (_name, identity, reason) => {
    const h = handshake('t');
    h.actor.send({ type: 'auth.verified', ...identity });
    expect(h.closes).toEqual([{ code: 4401, reason }]);
    expect(h.backendChecks()).toBe(0);
  });

  it('the expiry of the verified token is kept, counted from verifiedAt', () => {
    const h = handshake('t');
    h.actor.send({ type: 'auth.verified', userId: 'u', expiresAt: 5000, verifiedAt: 2000 });
    expect(h.snap().context.expiry).toEqual({ expiresAt: 5000, expiresInMs: 3000 });
  });

  it('backend unavailable → 1013 backend not ready (never 1011)', () => {
    const h = handshake('t');
    h.actor.send({ type: 'auth.verified', userId: 'u' });
    h.actor.send({ type: 'backend.unavailable', reason: 'supervisor down' });
    expect(h.closes).toEqual([{ code: 1013, reason: 'backend not ready' }]);
  });

  it('backend hangs: ms-1 still checkingBackend; ms → 1013 backend readiness timeout; a late answer changes nothing', () => {
    const h = handshake('t');
    h.actor.send({ type: 'auth.verified', userId: 'u' });
    h.clock.increment(1999);
    expect(h.value()).toEqual({ handshaking: 'checkingBackend' });
    h.clock.increment(1);
    expect(h.closes).toEqual([{ code: 1013, reason: 'backend readiness timeout' }]);
    h.actor.send({ type: 'backend.ready' });
    expect(h.value()).toBe('closing');
    expect(h.joins).toEqual([]);
  });

  it('backendTimeout counts from entering checkingBackend; the auth timer stops once authentication is done', () => {
    const h = handshake('t');
    h.clock.increment(900); // under authTimeout (1000)
    h.actor.send({ type: 'auth.verified', userId: 'u' });
    h.clock.increment(1999);
    expect(h.value()).toEqual({ handshaking: 'checkingBackend' });
    expect(h.closes).toEqual([]);
    h.clock.increment(1);
    expect(h.closes).toEqual([{ code: 1013, reason: 'backend readiness timeout' }]);
  });

  it('answers that come in the wrong state are ignored (readiness before verification, verification twice)', () => {
    const h = handshake('t');
    h.actor.send({ type: 'backend.ready' });
    expect(h.value()).toEqual({ handshaking: { authenticating: 'verifying' } });
    h.actor.send({ type: 'auth.verified', userId: 'u' });
    h.actor.send({ type: 'auth.refused', reason: 'late' });
    expect(h.value()).toEqual({ handshaking: 'checkingBackend' });
    expect(h.closes).toEqual([]);
  });

  it('the default effects ask nobody: a machine without an adapter stays verifying until authTimeout (4408)', () => {
    const clock = new SimulatedClock();
    const actor = createActor(connectionMachine, {
      clock,
      input: { connectionId: 'c', token: 't', limits: { ...DEFAULT_CONNECTION_LIMITS, authTimeoutMs: 10 } },
    });
    actor.start();
    expect(actor.getSnapshot().value).toEqual({ handshaking: { authenticating: 'verifying' } });
    clock.increment(10);
    expect(actor.getSnapshot().context.close).toMatchObject({ code: 4408, reason: 'auth timeout' });
    actor.stop();
  });

  it('a handshaking connection has no child actor (no promise actors, no AbortControllers)', () => {
    const h = handshake('t');
    expect(Object.keys(h.snap().children)).toEqual([]);
    h.actor.send({ type: 'auth.verified', userId: 'u' });
    expect(Object.keys(h.snap().children)).toEqual([]);
  });
});
