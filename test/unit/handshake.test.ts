import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { handshakeMachine } from '../../machines/handshake.js';
import { deferred, flush } from './harness.js';

function handshake(opts: { token?: string; verify?: () => Promise<{ userId: string }>; backend?: () => Promise<void> }) {
  const clock = new SimulatedClock();
  const machine = handshakeMachine.provide({
    actors: {
      verifyToken: fromPromise(opts.verify ?? (async () => ({ userId: 'alice' }))),
      checkBackend: fromPromise(opts.backend ?? (async () => {})),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { token: opts.token, authTimeoutMs: 5000, backendTimeoutMs: 10000 },
  });
  actor.start();
  return { actor, clock };
}

describe('handshake machine', () => {
  it('upgrade token → verify → backend → accepted with the user id', async () => {
    const { actor } = handshake({ token: 'alice' });
    await flush();
    expect(actor.getSnapshot().value).toBe('accepted');
    expect(actor.getSnapshot().output).toEqual({ ok: true, userId: 'alice' });
  });

  it('no upgrade token: waits for the auth frame, then accepts', async () => {
    const { actor } = handshake({});
    expect(actor.getSnapshot().value).toEqual({ authenticating: 'awaitingCredentials' });
    actor.send({ type: 'handshake.authFrame', data: JSON.stringify({ type: 'auth', token: 'alice' }) });
    await flush();
    expect(actor.getSnapshot().output).toEqual({ ok: true, userId: 'alice' });
  });

  for (const [name, data] of [
    ['a message', JSON.stringify({ type: 'message', id: '1', text: 'x' })],
    ['bad JSON', '{'],
    ['binary', null],
    ['auth without token', JSON.stringify({ type: 'auth' })],
  ] as const) {
    it(`a first frame that is ${name} → 4401`, () => {
      const { actor } = handshake({});
      actor.send({ type: 'handshake.authFrame', data });
      expect(actor.getSnapshot().output).toEqual({ ok: false, code: 4401, reason: 'first frame must be auth' });
    });
  }

  it('no credentials within authTimeout → 4408, not a millisecond earlier', () => {
    const { actor, clock } = handshake({});
    clock.increment(4999);
    expect(actor.getSnapshot().status).toBe('active');
    clock.increment(1);
    expect(actor.getSnapshot().output).toEqual({ ok: false, code: 4408, reason: 'auth timeout' });
  });

  it('a verifier that hangs is cut off by the same authTimeout → 4408', async () => {
    const { actor, clock } = handshake({ token: 'alice', verify: () => new Promise(() => {}) });
    await flush();
    expect(actor.getSnapshot().value).toEqual({ authenticating: 'verifying' });
    clock.increment(5000);
    expect(actor.getSnapshot().output).toMatchObject({ ok: false, code: 4408 });
  });

  it('a rejected token → 4401', async () => {
    const { actor } = handshake({ token: 'x', verify: () => Promise.reject(new Error('bad signature')) });
    await flush();
    expect(actor.getSnapshot().output).toEqual({ ok: false, code: 4401, reason: 'unauthorized' });
  });

  it('a failing backend → 1013', async () => {
    const { actor } = handshake({ token: 'alice', backend: () => Promise.reject(new Error('down')) });
    await flush();
    expect(actor.getSnapshot().output).toEqual({ ok: false, code: 1013, reason: 'backend not ready' });
  });

  it('a backend that does not answer within backendTimeout → 1013; a late answer changes nothing', async () => {
    const backend = deferred();
    const { actor, clock } = handshake({ token: 'alice', backend: () => backend.promise });
    await flush();
    expect(actor.getSnapshot().value).toBe('checkingBackend');
    clock.increment(9999);
    expect(actor.getSnapshot().value).toBe('checkingBackend');
    clock.increment(1);
    expect(actor.getSnapshot().output).toEqual({ ok: false, code: 1013, reason: 'backend readiness timeout' });
    backend.resolve();
    await flush();
    expect(actor.getSnapshot().value).toBe('rejected');
  });

  it('the auth timer stops once authentication is done', async () => {
    const backend = deferred();
    const { actor, clock } = handshake({ token: 'alice', backend: () => backend.promise });
    await flush();
    clock.increment(6000);
    expect(actor.getSnapshot().value).toBe('checkingBackend');
    backend.resolve();
    await flush();
    expect(actor.getSnapshot().value).toBe('accepted');
  });
});

// ── Additional coverage: deferred verifier/backend, exact timer edges, late answers ──

function manual<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function driven(token: string | undefined, limits = { authTimeoutMs: 1000, backendTimeoutMs: 2000 }) {
  const clock = new SimulatedClock();
  const verify = manual<{ userId: string }>();
  const backend = manual<void>();
  const verifiedTokens: string[] = [];
  let backendChecks = 0;
  const machine = handshakeMachine.provide({
    actors: {
      verifyToken: fromPromise(({ input }: { input: { token: string } }) => {
        verifiedTokens.push(input.token);
        return verify.promise;
      }),
      checkBackend: fromPromise(() => {
        backendChecks += 1;
        return backend.promise;
      }),
    },
  });
  const actor = createActor(machine, { clock, input: { token, ...limits } });
  actor.start();
  return { actor, clock, verify, backend, verifiedTokens, backendChecks: () => backendChecks, snap: () => actor.getSnapshot() };
}

describe('handshake machine: step by step with deferred actors', () => {
  it('upgrade token: verifying → checkingBackend → accepted, output carries the verified userId (not the token)', async () => {
    const h = driven('tok-1');
    expect(h.snap().value).toEqual({ authenticating: 'verifying' });
    expect(h.verifiedTokens).toEqual(['tok-1']);
    h.verify.resolve({ userId: 'user-42' });
    await flush();
    expect(h.snap().value).toBe('checkingBackend');
    expect(h.snap().context.userId).toBe('user-42');
    expect(h.backendChecks()).toBe(1);
    h.backend.resolve();
    await flush();
    expect(h.snap().status).toBe('done');
    expect(h.snap().value).toBe('accepted');
    expect(h.snap().output).toEqual({ ok: true, userId: 'user-42' });
  });

  it('no token: the auth frame token is what gets verified; accepted afterwards', async () => {
    const h = driven(undefined);
    expect(h.verifiedTokens).toEqual([]);
    h.actor.send({ type: 'handshake.authFrame', data: JSON.stringify({ type: 'auth', token: 'from-frame' }) });
    expect(h.snap().value).toEqual({ authenticating: 'verifying' });
    expect(h.verifiedTokens).toEqual(['from-frame']);
    // A second auth frame while verifying is ignored (not re-verified, not rejected).
    h.actor.send({ type: 'handshake.authFrame', data: JSON.stringify({ type: 'auth', token: 'other' }) });
    expect(h.verifiedTokens).toEqual(['from-frame']);
    h.verify.resolve({ userId: 'bob' });
    h.backend.resolve();
    await flush();
    expect(h.snap().output).toEqual({ ok: true, userId: 'bob' });
  });

  it.each([
    ['ping', JSON.stringify({ type: 'ping' })],
    ['unknown type', JSON.stringify({ type: 'hello' })],
    ['auth with empty token', JSON.stringify({ type: 'auth', token: '' })],
    ['auth with numeric token', JSON.stringify({ type: 'auth', token: 7 })],
    ['JSON array', '[]'],
  ])('no token + first frame %s → 4401 first frame must be auth, verifier never called', (_name, data) => {
    const h = driven(undefined);
    h.actor.send({ type: 'handshake.authFrame', data });
    expect(h.snap().value).toBe('rejected');
    expect(h.snap().output).toEqual({ ok: false, code: 4401, reason: 'first frame must be auth' });
    expect(h.verifiedTokens).toEqual([]);
  });

  it('auth timeout with no frame: ms-1 still waiting, ms → 4408', () => {
    const h = driven(undefined);
    h.clock.increment(999);
    expect(h.snap().value).toEqual({ authenticating: 'awaitingCredentials' });
    h.clock.increment(1);
    expect(h.snap().output).toEqual({ ok: false, code: 4408, reason: 'auth timeout' });
  });

  it('auth timeout spans frame + verification: a verifier hanging after a late auth frame → 4408 at the original deadline', async () => {
    const h = driven(undefined);
    h.clock.increment(600);
    h.actor.send({ type: 'handshake.authFrame', data: JSON.stringify({ type: 'auth', token: 't' }) });
    h.clock.increment(399);
    expect(h.snap().value).toEqual({ authenticating: 'verifying' });
    h.clock.increment(1);
    expect(h.snap().output).toEqual({ ok: false, code: 4408, reason: 'auth timeout' });
    // A verifier answering after the timeout changes nothing.
    h.verify.resolve({ userId: 'late' });
    await flush();
    expect(h.snap().output).toEqual({ ok: false, code: 4408, reason: 'auth timeout' });
    expect(h.backendChecks()).toBe(0);
  });

  it('verifier rejects → 4401 unauthorized, backend never checked', async () => {
    const h = driven('bad');
    h.verify.reject(new Error('bad signature'));
    await flush();
    expect(h.snap().output).toEqual({ ok: false, code: 4401, reason: 'unauthorized' });
    expect(h.backendChecks()).toBe(0);
  });

  it('backend rejects → 1013 backend not ready (never 1011)', async () => {
    const h = driven('t');
    h.verify.resolve({ userId: 'u' });
    await flush();
    h.backend.reject(new Error('supervisor down'));
    await flush();
    expect(h.snap().output).toEqual({ ok: false, code: 1013, reason: 'backend not ready' });
  });

  it('backend hangs: ms-1 still checkingBackend; ms → 1013 backend readiness timeout', async () => {
    const h = driven('t');
    h.verify.resolve({ userId: 'u' });
    await flush();
    expect(h.snap().value).toBe('checkingBackend');
    h.clock.increment(1999);
    expect(h.snap().value).toBe('checkingBackend');
    expect(h.snap().status).toBe('active');
    h.clock.increment(1);
    expect(h.snap().output).toEqual({ ok: false, code: 1013, reason: 'backend readiness timeout' });
  });

  it('backendTimeout counts from entering checkingBackend, not from the start', async () => {
    const h = driven('t');
    h.clock.increment(900); // under authTimeout (1000)
    h.verify.resolve({ userId: 'u' });
    await flush();
    h.clock.increment(1999);
    expect(h.snap().value).toBe('checkingBackend');
    h.clock.increment(1);
    expect(h.snap().output).toMatchObject({ ok: false, code: 1013, reason: 'backend readiness timeout' });
  });

  it('default actors (none provided) fail loudly: verification rejected → 4401', async () => {
    const actor = createActor(handshakeMachine, {
      clock: new SimulatedClock(),
      input: { token: 't', authTimeoutMs: 1000, backendTimeoutMs: 1000 },
    });
    actor.start();
    await flush();
    expect(actor.getSnapshot().output).toEqual({ ok: false, code: 4401, reason: 'unauthorized' });
  });
});
