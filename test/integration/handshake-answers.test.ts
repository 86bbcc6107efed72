/**
 * The handshake's answers on real sockets (src/adapter/handshake-effects.ts): the machine asks,
 * the adapter runs the embedder's verifier and readiness check and reports what happened; the
 * machine alone decides. Whatever the verifier or `ready()` do — throw synchronously, answer
 * late, answer after the socket is gone — the client sees the documented code (4401, 4408, 1013,
 * never 1011), a well-behaved client beside it is unharmed, and no actor is left behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { deferred, startServer, type Harness } from './harness.js';
import type { LockstepServerOptions } from '../../src/server/options.js';
import type { VerifiedIdentity } from '../../machines/handshake.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.server.close();
  expect(harness?.server.liveConnections ?? 0).toBe(0);
  harness = undefined;
});

async function serverWith(options: LockstepServerOptions): Promise<Harness> {
  harness = await startServer(options);
  return harness;
}
const withToken = (h: Harness, token: string) => new TestClient(h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${token}`] });

/** A verifier answer the test gives when it chooses. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A bounded wait for a condition the server reaches by itself (named in the failure). */
async function eventually(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('the handshake answers its questions as facts; the machine decides', () => {
  it('a verifier that throws synchronously → 4401 unauthorized (never 1011); the next client is accepted', async () => {
    const h = await serverWith({
      verifyToken: (token) => {
        if (token === 'boom') throw new Error('verifier crashed');
        return Promise.resolve({ userId: token });
      },
    });
    expect(await withToken(h, 'boom').closed).toEqual({ code: 4401, reason: 'unauthorized' });
    const good = withToken(h, 'alice');
    await good.untilType('ready');
    expect(good.frames[0]).toMatchObject({ type: 'ready', userId: 'alice' });
    await good.close();
  });

  it('a verifier answering with something that is not an identity → 4401 invalid subject', async () => {
    const h = await serverWith({ verifyToken: async () => null as unknown as VerifiedIdentity });
    expect(await withToken(h, 'alice').closed).toEqual({ code: 4401, reason: 'invalid subject' });
  });

  it('a ready() that throws synchronously → 1013 backend not ready (never 1011)', async () => {
    const h = await serverWith({
      ready: () => {
        throw new Error('supervisor not started');
      },
    });
    expect(await withToken(h, 'alice').closed).toEqual({ code: 1013, reason: 'backend not ready' });
  });

  it('a verifier that answers after authTimeout: 4408, and its late answer changes nothing', async () => {
    const answer = later<VerifiedIdentity>();
    let asked = 0;
    const h = await serverWith({
      limits: { authTimeoutMs: 100 },
      verifyToken: (token) => (token === 'slow' ? (asked++, answer.promise) : Promise.resolve({ userId: token })),
    });
    const slow = withToken(h, 'slow');
    expect(await slow.closed).toEqual({ code: 4408, reason: 'auth timeout' });
    expect(slow.frames).toEqual([]);
    answer.resolve({ userId: 'slow' });
    await eventually('the timed-out connection to be gone', () => h.server.liveConnections === 0);
    expect(asked).toBe(1);
    const good = withToken(h, 'bob');
    await good.untilType('ready');
    await good.close();
  });

  it('answers that come after the peer left (verification, then readiness) reach no actor and leave none', async () => {
    const verified = later<VerifiedIdentity>();
    const ready = deferred();
    let readinessAsked = 0;
    let goneAsked = 0;
    const h = await serverWith({
      verifyToken: (token) => (token === 'gone' ? (goneAsked++, verified.promise) : Promise.resolve({ userId: token })),
      ready: () => (readinessAsked++ === 0 ? Promise.resolve() : ready.promise),
    });
    // The first connection warms readiness (asked once per handshake).
    const first = withToken(h, 'carol');
    await first.untilType('ready');
    // Left while its token is being verified.
    const gone = withToken(h, 'gone');
    await gone.opened;
    await eventually('the verifier to be asked', () => goneAsked === 1);
    gone.ws.terminate();
    await eventually('the gone connection to be closed', () => h.server.liveConnections === 1);
    verified.resolve({ userId: 'gone' });
    // Left while readiness is being checked.
    const checking = withToken(h, 'dave');
    await eventually('readiness to be asked again', () => readinessAsked === 2);
    checking.ws.terminate();
    await eventually('the later connection to be closed', () => h.server.liveConnections === 1);
    ready.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.server.liveConnections).toBe(1);
    first.send({ type: 'ping', id: 'still-here' });
    await first.until(() => first.frames.some((f) => f.type === 'pong'), 'the pong of the connection that stayed');
    await first.close();
  });
});
