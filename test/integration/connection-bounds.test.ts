/**
 * Bounds of issue 14 on real loopback sockets: the heartbeat counts only the pong that answers
 * its ping, early frames are bounded in bytes per connection and server-wide, and one user's
 * tabs share one message bucket.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import pino from 'pino';
import { TestClient } from './client.js';
import { deferred, startServer, type Harness } from './harness.js';
import type { LockstepServerOptions } from '../../src/server/options.js';
import { within } from '../support/within.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.server.close();
  expect(harness?.server.liveConnections ?? 0).toBe(0);
  harness = undefined;
});


/** A server whose log lines are kept; `closed(userId)` resolves with that user's `connection closed`/`refused` line. */
async function serverWithLog(options: LockstepServerOptions) {
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  const logger = pino({ level: 'info' }, {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  harness = await startServer({ ...options, logger });
  const closed = (userId: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const check = () => {
        const line = lines.find((l) => l.userId === userId && (l.msg === 'connection closed' || l.msg === 'connection refused'));
        if (line) resolve(line);
        else waiters.push(check);
      };
      check();
    });
  return { h: harness, lines, closed };
}

const client = (h: Harness, user: string) => new TestClient(h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

describe('heartbeat: only the pong that echoes the ping counts', () => {
  it('a client that never reads but sends unsolicited pongs is cut off after two heartbeats', async () => {
    const { h, closed } = await serverWithLog({ limits: { heartbeatMs: 150 } });
    const ws = new WebSocket(h.url, ['lockstep.v1', 'lockstep.bearer.ponger']);
    ws.on('error', () => {});
    await within(once(ws, 'open'), 5_000, 'the upgrade');
    ws.pause();
    // Unsolicited pongs, one per 30 ms: before the nonce, each one satisfied the heartbeat.
    const ponger = setInterval(() => ws.pong('not the nonce'), 30);
    try {
      const line = await within(closed('ponger'), 5_000, 'the server to cut off the non-reading ponger');
      expect(line).toMatchObject({ code: 1006, reason: 'no pong' });
    } finally {
      clearInterval(ponger);
      ws.terminate();
    }
  });

  it('a client whose ws answers the pings stays connected across heartbeats', async () => {
    const { h, lines } = await serverWithLog({ limits: { heartbeatMs: 100 } });
    const c = client(h, 'alive');
    await within(c.untilType('ready'), 5_000, 'ready');
    let pings = 0;
    const fivePings = new Promise<void>((resolve) => c.ws.on('ping', () => ++pings === 5 && resolve()));
    await within(fivePings, 5_000, 'five heartbeat pings');
    c.send({ type: 'ping', id: 'still-here' });
    await within(c.untilType('pong'), 5_000, 'the pong of a live connection');
    expect(lines.filter((l) => l.msg === 'connection closed')).toEqual([]);
    await c.close();
  });
});

describe('early frames are bounded in bytes', () => {
  it('per connection: frames beyond maxEarlyBytes during a warm-up close 1008; the server-wide budget closes 1013', async () => {
    const backend = deferred();
    const { h } = await serverWithLog({
      ready: () => backend.promise,
      limits: { maxEarlyBytes: 300_000, maxEarlyBytesTotal: 500_000 },
    });
    const big = (id: string) => JSON.stringify({ type: 'message', id, text: 'x'.repeat(200_000) });
    // Over its own bound: two frames of 200 KB > 300 KB.
    const greedy = client(h, 'greedy');
    await within(greedy.opened, 5_000, 'greedy upgrade');
    greedy.send(big('g1'));
    greedy.send(big('g2'));
    expect(await within(greedy.closed, 5_000, 'greedy close')).toEqual({ code: 1008, reason: 'too many frames before ready' });
    // Each within its own bound, but together over the server's 500 KB: any two fit (400 KB),
    // the third to arrive — whichever it is — is refused 1013.
    const holders = ['h0', 'h1', 'h2'].map((user) => client(h, user));
    for (const c of holders) await within(c.opened, 5_000, 'holder upgrade');
    holders.forEach((c, i) => c.send(big(`h${i}`)));
    const refused = await within(
      Promise.race(holders.map((c, i) => c.closed.then((close) => ({ i, close })))),
      5_000,
      'one holder to be refused',
    );
    expect(refused.close).toEqual({ code: 1013, reason: 'early-frame budget exhausted' });
    // After the warm-up the other two are served, their held frames first.
    backend.resolve();
    for (const [i, c] of holders.entries()) {
      if (i === refused.i) continue;
      await within(c.until(() => c.frames.some((f) => f.type === 'ack' && f.id === `h${i}`), `ack of h${i}`), 5_000, `ack of h${i}`);
      await c.close();
    }
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(metrics).toContain('lockstep_connections_closed_total{code="1013"} 1');
    expect(metrics).toContain('lockstep_connections_closed_total{code="1008"} 1');
  });
});

describe("one user's tabs share one message bucket", () => {
  it('two tabs of alice: messages over userMessageBurst together are refused with LOCKSTEP_E_RATE_LIMITED', async () => {
    const { h } = await serverWithLog({ limits: { messageBurst: 10, messageRate: 1, userMessageBurst: 6, userMessageRate: 1 } });
    const tabs = [client(h, 'alice'), client(h, 'alice')];
    for (const tab of tabs) await within(tab.untilType('ready'), 5_000, 'a tab ready');
    for (const [t, tab] of tabs.entries()) {
      for (let i = 0; i < 4; i += 1) tab.send({ type: 'message', id: `t${t}-${i}`, text: 'hi' });
    }
    const answered = (tab: TestClient) => tab.frames.filter((f) => f.type === 'ack' || (f.type === 'error' && f.code === 'LOCKSTEP_E_RATE_LIMITED')).length;
    for (const tab of tabs) await within(tab.until(() => answered(tab) >= 4, '4 answers'), 5_000, 'each message answered');
    const acks = tabs.flatMap((tab) => tab.frames.filter((f) => f.type === 'ack'));
    const limited = tabs.flatMap((tab) => tab.frames.filter((f) => f.type === 'error' && f.code === 'LOCKSTEP_E_RATE_LIMITED'));
    // Each tab alone is within its own bucket (4 ≤ 10); together they are over alice's 6.
    expect(acks).toHaveLength(6);
    expect(limited).toHaveLength(2);
    // Another user is not affected by alice's bucket.
    const bob = client(h, 'bob');
    await within(bob.untilType('ready'), 5_000, 'bob ready');
    bob.send({ type: 'message', id: 'b1', text: 'hi' });
    await within(bob.untilType('ack'), 5_000, "bob's ack");
    for (const c of [...tabs, bob]) await c.close();
  });
});

describe('the outgoing fact covers the write batch', () => {
  it("ws bufferedAmount counts bytes corked by the write batcher (what the adapter reports as bufferedBytes)", async () => {
    const { WebSocketServer } = await import('ws');
    const { WriteBatcher } = await import('../../src/adapter/write-batching.js');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await within(once(wss, 'listening'), 5_000, 'the ws server listening');
    const port = (wss.address() as { port: number }).port;
    const accepted = within(once(wss, 'connection'), 5_000, 'the server-side socket');
    const peer = new WebSocket(`ws://127.0.0.1:${port}`);
    peer.on('error', () => {});
    const [ws] = (await accepted) as [WebSocket];
    const tcp = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    new WriteBatcher().batch(tcp);
    const before = ws.bufferedAmount;
    ws.send('x'.repeat(10_000));
    // Still corked (the batch flushes after this turn's microtasks): the bytes are counted.
    expect(ws.bufferedAmount - before).toBeGreaterThanOrEqual(10_000);
    peer.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
});
