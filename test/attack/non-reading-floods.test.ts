/**
 * Non-reading floods (issue 14 item 4) against a real `lockstep serve`: an attacker whose TCP
 * socket is paused (it never reads, so every byte the server writes stays in the server's
 * buffers) floods one kind of frame. Each flood must end with an explicit server close after a
 * bounded number of bytes, the server's RSS must stay bounded, and a bystander loses nothing.
 */
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bystanderRoundTrips, ServeProcess, within } from './attack-harness.js';

const MiB = 1024 * 1024;
/**
 * The attacker sends at most this much, then waits for the server's close: the close must come
 * from what it sent (a close decided while the client never reads its close frame ends after
 * closeTimeoutMs, and the server discards what it reads meanwhile).
 */
const SEND_CAP = 64 * MiB;
/** What the server may grow by during one flood: the 4 MiB outgoing bound, kernel-side data excluded, plus GC slack. */
const RSS_GROWTH_BOUND = 96 * MiB;

let serve: ServeProcess;
beforeEach(async () => {
  serve = await ServeProcess.start(['--log-level', 'info']);
});
afterEach(async () => {
  await serve.kill();
});

/** Resolves with the first `connection closed` log line of `userId` (pino JSON on stderr). */
function closeLogged(userId: string): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      for (const line of seen.split('\n')) {
        if (!line.includes('"msg":"connection closed"') || !line.includes(`"userId":"${userId}"`)) continue;
        serve.child.stderr?.off('data', onData);
        resolve(JSON.parse(line) as { code: number; reason: string });
        return;
      }
    };
    serve.child.stderr?.on('data', onData);
  });
}

/** Opens a connection for `user`, waits for its upgrade, then stops reading it for good. */
async function nonReadingClient(user: string): Promise<WebSocket> {
  const ws = new WebSocket(serve.wsUrl, ['lockstep.v1', `lockstep.bearer.${user}`]);
  ws.on('error', () => {});
  await within(once(ws, 'open'), 10_000, `the upgrade of ${user}`);
  ws.pause();
  return ws;
}

/**
 * Sends `next()` frames until `stopped()` (the server closed it) or SEND_CAP, waiting for the
 * client's own socket to drain whenever it holds 1 MiB, so the attacker goes at the server's
 * reading speed. Returns the bytes sent.
 */
async function flood(ws: WebSocket, next: (i: number) => string, stopped: () => boolean): Promise<number> {
  let sent = 0;
  let i = 0;
  const socket = (ws as unknown as { _socket: NodeJS.WritableStream & { destroyed: boolean } })._socket;
  while (!stopped() && sent < SEND_CAP && !socket.destroyed) {
    for (let k = 0; k < 100; k += 1, i += 1) {
      const data = next(i);
      ws.send(data);
      sent += data.length;
    }
    if (ws.bufferedAmount > MiB) {
      // `once` rejects on 'error' (ECONNRESET once the server cut the socket): that ends the flood too.
      const drained = Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
      await within(drained, 20_000, 'the attacker socket to drain (the server reads)');
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return sent;
}

/** Runs one flood with a bystander alongside; returns the close the server logged and the bytes sent. */
async function floodWithBystander(user: string, next: (i: number) => string) {
  const before = serve.rssBytes();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, serve.rssBytes())), 50);
  try {
    const ws = await nonReadingClient(user);
    let closed: { code: number; reason: string } | undefined;
    const logged = closeLogged(user).then((line) => (closed = line));
    const bystander = bystanderRoundTrips(serve.wsUrl, 5);
    const sent = await flood(ws, next, () => closed !== undefined);
    const close = await within(logged, 20_000, `the server to close ${user}`);
    await bystander;
    ws.terminate();
    expect(serve.alive).toBe(true);
    console.log(`[attack] ${user}: closed ${close.code} ${close.reason} after ${(sent / MiB).toFixed(1)} MiB sent; server RSS +${((peak - before) / MiB).toFixed(1)} MiB`);
    return { close, sent, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

const longId = 'x'.repeat(1000);

describe('a client that never reads is closed after a bounded number of bytes, whatever it floods', () => {
  it('pings with 1000-character ids: closed 1008 send buffer over limit, RSS bounded', async () => {
    const { close, sent, growth } = await floodWithBystander('pinger', () => JSON.stringify({ type: 'ping', id: longId }));
    expect(close).toMatchObject({ code: 1008, reason: 'send buffer over limit' });
    expect(sent).toBeLessThanOrEqual(SEND_CAP + MiB);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
  }, 90_000);

  it('19 unknown frames + 1 ping, repeated: the bad-frame count decays instead of resetting → 1008', async () => {
    const { close, sent, growth } = await floodWithBystander('mixer', (i) =>
      i % 20 === 19 ? JSON.stringify({ type: 'ping', id: longId }) : JSON.stringify({ type: `unknown-${longId}` }),
    );
    expect(close.code).toBe(1008);
    expect(['too many bad frames', 'send buffer over limit']).toContain(close.reason);
    expect(sent).toBeLessThanOrEqual(SEND_CAP + MiB);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
  }, 90_000);

  it('messages mixed with pings (acks, events, rate-limit errors, pongs): closed 1008 at the outgoing bound', async () => {
    const { close, sent, growth } = await floodWithBystander('chatter', (i) =>
      i % 2 === 0 ? JSON.stringify({ type: 'message', id: `m${i}`, text: longId }) : JSON.stringify({ type: 'ping', id: longId }),
    );
    expect(close).toMatchObject({ code: 1008, reason: 'send buffer over limit' });
    expect(sent).toBeLessThanOrEqual(SEND_CAP + MiB);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
  }, 90_000);
});
