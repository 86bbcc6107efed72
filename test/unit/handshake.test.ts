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
