/**
 * Every row of the error and close code lists: the bad input is sent while a bystander
 * client keeps chatting, and the bystander must get every event of its runs, unharmed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { TestClient } from './client.js';
import { RUN_EVENTS, deferred, eventsOf, startServer, type Harness } from './harness.js';
import type { LockstepServerOptions } from '../../src/server/options.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.server.close();
  expect(harness?.server.liveConnections ?? 0).toBe(0);
  harness = undefined;
});

async function serverWith(options: LockstepServerOptions = {}): Promise<Harness> {
  harness = await startServer(options);
  return harness;
}

function client(h: Harness, token: string | undefined, options: { protocols?: string[]; autoPong?: boolean } = {}) {
  return new TestClient(h.url, {
    protocols: options.protocols ?? (token === undefined ? ['lockstep.v1'] : ['lockstep.v1', `lockstep.bearer.${token}`]),
  });
}

/** Runs `misbehave` while a bystander chats; asserts the bystander saw two complete runs. */
async function withBystander(h: Harness, misbehave: () => Promise<void>): Promise<void> {
  const bystander = client(h, 'bystander');
  await bystander.untilType('ready');
  bystander.send({ type: 'message', id: 'b1', text: 'before' });
  await misbehave();
  bystander.send({ type: 'message', id: 'b2', text: 'after' });
  await bystander.until(() => eventsOf(bystander.frames).length >= 10, 'two runs');
  const events = eventsOf(bystander.frames);
  expect(events.map((e) => e.event)).toEqual([...RUN_EVENTS, ...RUN_EVENTS]);
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await bystander.close();
}

describe('error frames keep the connection open', () => {
  const rows: Array<[string, string | Buffer, string]> = [
    ['not JSON', '{"type":', 'LOCKSTEP_E_BAD_JSON'],
    ['schema violation', JSON.stringify({ type: 'message', id: 'x', text: 42 }), 'LOCKSTEP_E_BAD_FRAME'],
    ['unknown type', JSON.stringify({ type: 'subscribe' }), 'LOCKSTEP_E_UNKNOWN_TYPE'],
    ['binary frame', Buffer.from([1, 2, 3]), 'LOCKSTEP_E_BINARY_UNSUPPORTED'],
    ['auth after ready for another user', JSON.stringify({ type: 'auth', token: 'eve' }), 'LOCKSTEP_E_SUBJECT_MISMATCH'],
  ];
  for (const [name, payload, code] of rows) {
    it(`${name} → ${code}`, async () => {
      const h = await serverWith();
      await withBystander(h, async () => {
        const bad = client(h, 'mallory');
        await bad.untilType('ready');
        bad.ws.send(payload);
        await bad.untilType('error');
        expect(bad.frames[1]).toMatchObject({ type: 'error', code });
        bad.send({ type: 'message', id: 'ok', text: 'still here' });
        await bad.until(() => eventsOf(bad.frames).length === 5, 'run after error');
        await bad.close();
      });
    });
  }

  it('a schema error on a message carries its id as ref', async () => {
    const h = await serverWith();
    const bad = client(h, 'mallory');
    await bad.untilType('ready');
    bad.send({ type: 'message', id: 'm-7' });
    await bad.untilType('error');
    expect(bad.frames[1]).toMatchObject({ code: 'LOCKSTEP_E_BAD_FRAME', ref: 'm-7' });
    await bad.close();
  });
});

describe('close codes', () => {
  it('1000: a client that closes normally leaves no actor behind', async () => {
    const h = await serverWith();
    await withBystander(h, async () => {
      const c = client(h, 'leaver');
      await c.untilType('ready');
      expect((await c.close()).code).toBe(1000);
    });
  });

  it('1001: server shutdown closes every socket, mid-handshake included', async () => {
    const backend = deferred();
    const h = await serverWith({ ready: () => backend.promise });
    const waiting = client(h, 'waiting');
    await waiting.opened;
    const done = h.server.close();
    expect((await waiting.closed).code).toBe(1001);
    await done;
  });

  it('1008: too many bad frames in a row', async () => {
    const h = await serverWith({ limits: { maxBadFrames: 5 } });
    await withBystander(h, async () => {
      const bad = client(h, 'mallory');
      await bad.untilType('ready');
      for (let i = 0; i < 5; i++) bad.send('nope');
      expect(await bad.closed).toEqual({ code: 1008, reason: 'too many bad frames' });
      expect(bad.frames.filter((f) => f.type === 'error')).toHaveLength(5);
    });
  });

  it('1008: too many frames before ready', async () => {
    const backend = deferred();
    const h = await serverWith({ ready: () => backend.promise, limits: { maxEarlyFrames: 4 } });
    const flood = new TestClient(h.url, {
      protocols: ['lockstep.v1', 'lockstep.bearer.flood'],
      onOpen: (ws) => {
        for (let i = 0; i < 5; i++) ws.send(JSON.stringify({ type: 'message', id: `f${i}`, text: 'x' }));
      },
    });
    expect(await flood.closed).toEqual({ code: 1008, reason: 'too many frames before ready' });
    expect(flood.frames).toEqual([]);
    backend.resolve();
    await withBystander(h, async () => {});
  });

  it('1009: a frame over maxPayload', async () => {
    const h = await serverWith({ maxPayload: 1024 });
    await withBystander(h, async () => {
      const big = client(h, 'big');
      await big.untilType('ready');
      big.send({ type: 'message', id: 'big', text: 'x'.repeat(2048) });
      expect((await big.closed).code).toBe(1009);
    });
  });

  it('1013: the backend is not ready (failure), never 1011', async () => {
    const h = await serverWith({ ready: () => Promise.reject(new Error('supervisor down')) });
    const c = client(h, 'alice');
    expect(await c.closed).toEqual({ code: 1013, reason: 'backend not ready' });
  });

  it('1013: the backend does not answer within backendTimeoutMs', async () => {
    const backend = deferred();
    const h = await serverWith({ ready: () => backend.promise, limits: { backendTimeoutMs: 100 } });
    const c = client(h, 'alice');
    expect(await c.closed).toEqual({ code: 1013, reason: 'backend readiness timeout' });
    expect(c.frames).toEqual([]);
  });

  it('4401: a bad dev token, while others chat', async () => {
    const h = await serverWith();
    await withBystander(h, async () => {
      const c = new TestClient(h.url, { headers: { authorization: 'Bearer bad$token' } });
      expect(await c.closed).toEqual({ code: 4401, reason: 'unauthorized' });
    });
  });

  it('4401: a first frame that is not auth, with no upgrade credentials', async () => {
    const h = await serverWith();
    await withBystander(h, async () => {
      const c = new TestClient(h.url, {
        protocols: ['lockstep.v1'],
        onOpen: (ws) => ws.send(JSON.stringify({ type: 'message', id: 'm', text: 'too soon' })),
      });
      expect(await c.closed).toEqual({ code: 4401, reason: 'first frame must be auth' });
    });
  });

  it('4408: no credentials within authTimeoutMs', async () => {
    const h = await serverWith({ limits: { authTimeoutMs: 100 } });
    await withBystander(h, async () => {
      const c = client(h, undefined);
      expect(await c.closed).toEqual({ code: 4408, reason: 'auth timeout' });
    });
  });

  it('heartbeat: a peer that never pongs is terminated (client sees 1006)', async () => {
    const h = await serverWith({ limits: { heartbeatMs: 50 } });
    const { default: WebSocket } = await import('ws');
    const silent = new WebSocket(h.url, ['lockstep.v1', 'lockstep.bearer.silent'], { autoPong: false });
    const code = await new Promise<number>((resolve) => silent.once('close', (c) => resolve(c)));
    expect(code).toBe(1006);
  });
});

describe('credentials', () => {
  it('Authorization: Bearer header, and the bearer subprotocol is never echoed', async () => {
    const h = await serverWith();
    const byHeader = new TestClient(h.url, { headers: { authorization: 'Bearer carol' } });
    await byHeader.untilType('ready');
    expect(byHeader.frames[0]).toMatchObject({ userId: 'carol' });
    const bySubprotocol = client(h, 'dave');
    await bySubprotocol.untilType('ready');
    expect(bySubprotocol.ws.protocol).toBe('lockstep.v1');
    await Promise.all([byHeader.close(), bySubprotocol.close()]);
  });

  it('JWT mode: a valid HS256 token is accepted, an expired one closes 4401', async () => {
    const secret = 'test-secret-that-is-long-enough-for-hs256';
    const key = new TextEncoder().encode(secret);
    const sign = (exp: number) =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('erin').setExpirationTime(exp).sign(key);
    const h = await serverWith({ jwtSecret: secret });
    const now = Math.floor(Date.now() / 1000);
    const good = new TestClient(h.url, { headers: { authorization: `Bearer ${await sign(now + 60)}` } });
    await good.untilType('ready');
    expect(good.frames[0]).toMatchObject({ userId: 'erin' });
    const expired = new TestClient(h.url, { headers: { authorization: `Bearer ${await sign(now - 60)}` } });
    expect((await expired.closed).code).toBe(4401);
    const devToken = new TestClient(h.url, { headers: { authorization: 'Bearer erin' } });
    expect((await devToken.closed).code).toBe(4401);
    await good.close();
  });
});

describe('handler faults (I9)', () => {
  it('an exception in the handler becomes agent_error; the connection keeps serving', async () => {
    const h = await serverWith({
      handler: (message, run) => {
        if (message.text === 'boom') throw new Error('tool crashed');
        run.complete({ text: `ok: ${message.text}` });
      },
    });
    const c = client(h, 'alice');
    await c.untilType('ready');
    c.send({ type: 'message', id: '1', text: 'boom' });
    c.send({ type: 'message', id: '2', text: 'fine' });
    await c.until(() => eventsOf(c.frames).length >= 4, 'two runs');
    expect(eventsOf(c.frames).map((e) => e.event)).toEqual(['agent_started', 'agent_error', 'agent_started', 'agent_completed']);
    expect(eventsOf(c.frames)[1]?.data).toMatchObject({ reason: 'handler_error', message: 'tool crashed' });
    await c.close();
  });
});

describe('http', () => {
  it('GET /health and GET /metrics', async () => {
    const h = await serverWith();
    const c = client(h, 'alice');
    await c.untilType('ready');
    const health = await (await fetch(`${h.httpUrl}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', connections: { total: 1, ready: 1 } });
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(metrics).toContain('lockstep_connections{state="ready"} 1');
    expect(metrics).toContain('lockstep_handshake_duration_seconds_count 1');
    await c.close();
    await h.server.close();
    const after = await h.server.metrics.registry.getSingleMetricAsString('lockstep_connections_closed_total');
    expect(after).toContain('code="1000"');
  });

  it('unknown upgrade path → 404, /websocket alias works', async () => {
    const h = await serverWith();
    const wrong = new TestClient(h.url.replace('/ws', '/nope'), { protocols: ['lockstep.v1', 'lockstep.bearer.a'] });
    await expect(wrong.opened).rejects.toThrow('404');
    const alias = new TestClient(h.url.replace('/ws', '/websocket'), { protocols: ['lockstep.v1', 'lockstep.bearer.a'] });
    await alias.untilType('ready');
    await alias.close();
  });
});
