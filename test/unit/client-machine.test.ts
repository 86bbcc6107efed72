/**
 * The client machine alone (machines/client.ts), with recording effects and SimulatedClock:
 * which close leads where, the backoff as named delays with the reported jitter, the open
 * timeout, token refresh once per ready, the rate-limit resend, and close().
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { backoffDelay, clientMachine, closeDisposition, DEFAULT_CLIENT_TIMING, type ClientEvent } from '../../machines/client.js';
import { clientStateName } from '../../src/client/create-client.js';
import type { ReadyFrame } from '../../src/protocol/frames.js';

const READY: ReadyFrame = { type: 'ready', userId: 'u', connectionId: 'c', epoch: 'e', lastSeq: 0, resumed: false };

function start(input: { token?: string; getToken?: () => Promise<string> } = { token: 't' }) {
  const effects: string[] = [];
  const clock = new SimulatedClock();
  const record = (name: string) => (_: unknown, params?: unknown) => void effects.push(params === undefined ? name : `${name} ${JSON.stringify(params)}`);
  const machine = clientMachine.provide({
    actors: input.getToken ? { getToken: fromPromise(async () => input.getToken!()) } : {},
    actions: {
      openSocket: record('open'),
      dropSocket: record('drop'),
      acceptReady: record('acceptReady'),
      flushOutbox: record('flush'),
      sendMessage: record('send'),
      applyAck: record('ack'),
      applyEvent: record('event'),
      reportServerError: record('error'),
      deferMessage: record('defer'),
      resendDeferred: record('resend'),
      reportClose: record('close'),
      sendCancel: record('cancel'),
    },
  });
  const actor = createActor(machine, { clock, input: { token: input.token, canRefreshToken: input.getToken !== undefined, timing: { baseMs: 100, maxMs: 1000, openTimeoutMs: 5000, rateLimitRetryMs: 700 } } }).start();
  const state = () => clientStateName(actor.getSnapshot().value);
  const send = (event: ClientEvent) => actor.send(event);
  return { actor, clock, effects, state, send };
}

const open = { type: 'socket.open', jitter: 0 } as const;
const closeWith = (code: number, reason = '', jitter = 0) => ({ type: 'socket.close', code, reason, jitter }) as const;
const ready = { type: 'server.ready', frame: READY } as const;

describe('client machine: connecting → authenticating → ready', () => {
  it('opens with the token, waits for ready, then sends the outbox', () => {
    const c = start();
    expect(c.state()).toBe('connecting');
    expect(c.effects).toEqual(['open {"token":"t","attempt":0}']);
    c.send(open);
    expect(c.state()).toBe('authenticating');
    c.send({ type: 'client.send', id: 'm1' });
    expect(c.effects).not.toContain('send {"id":"m1"}');
    c.send(ready);
    expect(c.state()).toBe('ready');
    expect(c.effects.slice(1)).toEqual([`acceptReady {"frame":${JSON.stringify(READY)}}`, 'flush']);
    c.send({ type: 'client.send', id: 'm2' });
    expect(c.effects.at(-1)).toBe('send {"id":"m2"}');
  });

  it('client.cancel is sent while ready only (connecting, authenticating, reconnecting: dropped)', () => {
    const c = start();
    c.send({ type: 'client.cancel', runId: 'r0' });
    c.send(open);
    c.send({ type: 'client.cancel', runId: 'r1' });
    c.send(ready);
    c.send({ type: 'client.cancel', runId: 'r2' });
    c.send(closeWith(1006));
    expect(c.state()).toBe('reconnecting');
    c.send({ type: 'client.cancel', runId: 'r3' });
    expect(c.effects.filter((e) => e.startsWith('cancel'))).toEqual(['cancel {"runId":"r2"}']);
  });

  it('an event or ack before ready is not applied (ready is the first frame)', () => {
    const c = start();
    c.send(open);
    c.send({ type: 'server.event', frame: { type: 'event', seq: 1, runId: 'r', event: 'agent_started', data: {}, ts: 0 } });
    c.send({ type: 'server.ack', frame: { type: 'ack', id: 'm', runId: 'r' } });
    expect(c.effects).toEqual(['open {"token":"t","attempt":0}']);
  });
});

describe('client machine: reconnecting with backoff (named delay, jitter as a fact)', () => {
  it('waits backoff(attempt, jitter) after a drop, doubling per attempt, and resets on ready', () => {
    const c = start();
    c.send(open);
    c.send(closeWith(1006, '', 0.5));
    expect(c.state()).toBe('reconnecting');
    // attempt 0, ceiling 100, jitter 0.5 → 75 ms.
    c.clock.increment(74);
    expect(c.state()).toBe('reconnecting');
    c.clock.increment(1);
    expect(c.state()).toBe('connecting');
    expect(c.effects.at(-1)).toBe('open {"token":"t","attempt":1}');
    c.send(closeWith(1006, '', 0));
    // attempt 1, ceiling 200, jitter 0 → 100 ms.
    c.clock.increment(99);
    expect(c.state()).toBe('reconnecting');
    c.clock.increment(1);
    expect(c.effects.at(-1)).toBe('open {"token":"t","attempt":2}');
    c.send(open);
    c.send(ready);
    c.send(closeWith(1001));
    c.clock.increment(50);
    expect(c.effects.at(-1)).toBe('open {"token":"t","attempt":1}');
  });

  it('gives up an attempt that does not reach ready within openTimeout', () => {
    const c = start();
    c.send(open);
    c.clock.increment(4999);
    expect(c.state()).toBe('authenticating');
    c.clock.increment(1);
    expect(c.state()).toBe('reconnecting');
    expect(c.effects).toContain('drop {"code":4000,"reason":"open timeout"}');
  });

  it('keeps reconnecting on 1001, 1006, 1011, 1013, 4408 and 1008 slow consumer', () => {
    for (const [code, reason] of [[1001, 'server shutting down'], [1006, ''], [1011, 'internal fault'], [1013, 'backend not ready'], [4408, 'auth timeout'], [1008, 'slow consumer']] as const) {
      const c = start();
      c.send(open);
      c.send(closeWith(code, reason));
      expect(c.state(), `${code} ${reason}`).toBe('reconnecting');
    }
  });
});

describe('client machine: final states', () => {
  it('1008 policy and 1009 are final (refused); 1000 is final (closed); 4401 without getToken is final (unauthorized)', () => {
    for (const [code, reason, final] of [[1008, 'too many connections', 'refused'], [1008, 'rate limit exceeded', 'refused'], [1009, '', 'refused'], [1000, '', 'closed'], [4401, 'token expired', 'unauthorized']] as const) {
      const c = start();
      c.send(open);
      c.send(ready);
      c.send(closeWith(code, reason));
      expect(c.state(), `${code} ${reason}`).toBe(final);
      expect(c.actor.getSnapshot().status).toBe('done');
      expect(c.actor.getSnapshot().context.lastClose).toEqual({ code, reason });
    }
  });

  it('close() drops the socket with 1000 from any state and is final', () => {
    const c = start();
    c.send(open);
    c.send(closeWith(1006));
    c.send({ type: 'client.close' });
    expect(c.state()).toBe('closed');
    expect(c.effects.at(-1)).toBe('drop {"code":1000,"reason":"client closed"}');
    c.clock.increment(60_000);
    expect(c.effects.filter((e) => e.startsWith('open'))).toHaveLength(1);
  });
});

describe('client machine: tokens', () => {
  it('fetches a token first when none is given, and again once after a 4401 token expired', async () => {
    let n = 0;
    const c = start({ getToken: async () => `t${++n}` });
    expect(c.state()).toBe('fetchingToken');
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(c.state()).toBe('connecting');
    expect(c.effects.at(-1)).toBe('open {"token":"t1","attempt":0}');
    c.send(open);
    c.send(ready);
    c.send(closeWith(4401, 'token expired'));
    expect(c.state()).toBe('fetchingToken');
    await new Promise((r) => setImmediate(r));
    expect(c.effects.at(-1)).toBe('open {"token":"t2","attempt":0}');
    // A second 4401 before ready: the new token is refused too; final.
    c.send(open);
    c.send(closeWith(4401, 'unauthorized'));
    expect(c.state()).toBe('unauthorized');
  });

  it('a getToken that rejects is final (unauthorized)', async () => {
    const c = start({ getToken: async () => Promise.reject(new Error('no session')) });
    await new Promise((r) => setImmediate(r));
    expect(c.state()).toBe('unauthorized');
  });
});

describe('client machine: rate limit', () => {
  it('a message refused with LOCKSTEP_E_RATE_LIMITED is deferred and resent after rateLimitRetry', () => {
    const c = start();
    c.send(open);
    c.send(ready);
    c.send({ type: 'server.error', frame: { type: 'error', code: 'LOCKSTEP_E_RATE_LIMITED', message: 'slow down', ref: 'm1' } });
    expect(c.effects.slice(-1)).toEqual(['defer {"id":"m1"}']);
    c.clock.increment(699);
    expect(c.effects).not.toContain('resend');
    c.clock.increment(1);
    expect(c.effects.at(-1)).toBe('resend');
  });
});

describe('client policy', () => {
  it('backoff: equal jitter between ceiling/2 and ceiling, capped at maxMs', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 0, { baseMs: 100, maxMs: 10_000 }))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(10_000, 1, DEFAULT_CLIENT_TIMING)).toBe(10_000);
    fc.assert(
      fc.property(fc.nat(80), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, jitter) => {
        const ceiling = Math.min(10_000, 250 * 2 ** attempt);
        const delay = backoffDelay(attempt, jitter, DEFAULT_CLIENT_TIMING);
        return delay >= Math.floor(ceiling / 2) && delay <= ceiling;
      }),
    );
  });

  it('close dispositions', () => {
    expect(closeDisposition(1006, '')).toBe('retry');
    expect(closeDisposition(1008, 'slow consumer')).toBe('retry');
    expect(closeDisposition(1008, 'too many bad frames')).toBe('refused');
    expect(closeDisposition(4401, 'token expired')).toBe('token');
    expect(closeDisposition(1000, '')).toBe('closed');
    expect(closeDisposition(4999, 'unknown')).toBe('retry');
  });
});
