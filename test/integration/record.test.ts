/**
 * Record and replay over real sockets on loopback: a server with `record` writes each
 * connection's trace when it closes; `replayTrace` re-runs it against the pure machines and
 * must send exactly the frames the client received. Tokens never appear in a trace, and a
 * tampered trace diverges (the CLI exits 1).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { replayTrace } from '../../src/testing/replay.js';
import type { ConnectionTrace } from '../../src/trace/format.js';
import { within } from '../support/within.js';
import type { ReadyFrame, ServerFrame } from '../../src/protocol/frames.js';
import { TestClient } from './client.js';
import { deferred, RUN_EVENTS, eventsOf, startServer } from './harness.js';

// Distinctive, so a substring search of the trace file is conclusive.
const TOKEN = 'tok-8c1f0e7d-secret-Zq';
const USER = 'alice';
/** TOKEN is alice; `${TOKEN}.n` is user-n (separate users, so separate streams). */
const verifyToken = async (token: string) => {
  if (!token.startsWith(TOKEN)) throw new Error(`unknown token ${token}`);
  return { userId: token === TOKEN ? USER : `user-${token.slice(TOKEN.length + 1)}` };
};

/** A server recording into a callback; `next()` resolves with the next finished trace. */
async function recordingServer(options: Parameters<typeof startServer>[0] = {}) {
  const finished: ConnectionTrace[] = [];
  let waiting: Array<(trace: ConnectionTrace) => void> = [];
  const h = await startServer({
    verifyToken,
    ...options,
    record: (trace) => {
      const waiter = waiting.shift();
      if (waiter) waiter(trace);
      else finished.push(trace);
    },
  });
  const next = (): Promise<ConnectionTrace> => {
    const ready = finished.shift();
    return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
  };
  const stop = async () => {
    waiting = [];
    await h.server.close();
  };
  return { h, next, stop };
}

const sentFrames = (trace: { effects: Array<{ type: string; params?: unknown }> }): ServerFrame[] =>
  trace.effects.filter((e) => e.type === 'sendFrame').map((e) => (e.params as { frame: ServerFrame }).frame);

/** Round-trip through JSON like a trace file does, then replay. */
const replayFile = (trace: ConnectionTrace) => replayTrace(JSON.parse(JSON.stringify(trace)));

describe('record and replay', () => {
  const servers: Array<{ stop(): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('a message sent before the backend is ready: the replay sends exactly the frames the client received', async () => {
    const backend = deferred();
    const rec = await recordingServer({ ready: () => backend.promise });
    servers.push(rec);
    const client = new TestClient(rec.h.url, {
      protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}`],
      // The message, then a WebSocket ping. ws answers a ping when it reads it, after it has
      // handed the message before it to the connection: when the pong is back, the server holds
      // the message, and only then does the backend become ready. Causality, not timing.
      onOpen: (ws) => {
        ws.send(JSON.stringify({ type: 'message', id: 'm-1', text: 'hello' }));
        ws.once('pong', () => backend.resolve());
        ws.ping();
      },
    });
    await client.until(() => eventsOf(client.frames).length === RUN_EVENTS.length, 'the whole run');
    await client.close();
    const trace = await rec.next();

    expect(trace.final).toMatchObject({ status: 'done', state: 'closed', peerCloseCode: 1000 });
    expect(trace.input).toMatchObject({ token: '[redacted]', credentials: 'subprotocol' });
    expect(sentFrames(trace)).toEqual(client.frames);
    // The race really happened: the message reached the connection before the backend was ready.
    const kinds = trace.entries.map((e) => (e.kind === 'event' ? e.event.type : e.kind));
    expect(kinds.indexOf('socket.frame')).toBeLessThan(kinds.indexOf('backend.ready'));

    const result = replayFile(trace);
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
    expect(sentFrames(result)).toEqual(client.frames);
    expect(result.final).toMatchObject({ status: 'done', state: 'closed', peerCloseCode: 1000 });
    // Every transition is reported, starting in the handshake and ending closed.
    expect(result.steps[0]?.before).toMatch(/^handshaking/);
    expect(result.steps.at(-1)?.after).toBe('closed');

    expect(JSON.stringify(trace)).not.toContain(TOKEN);

    // `LOCKSTEP_WRITE_REGRESSIONS=1 npx vitest run test/integration/record.test.ts` refreshes the
    // committed regression trace (test/regressions/traces.md).
    if (process.env.LOCKSTEP_WRITE_REGRESSIONS === '1') {
      const file = fileURLToPath(new URL('../regressions/early-message-before-backend-ready.trace.json', import.meta.url));
      writeFileSync(file, `${JSON.stringify(trace, null, 2)}\n`);
    }
  });

  it('50 concurrent connections racing the backend: every trace replays to exactly its client\'s frames', async () => {
    const CLIENTS = 50;
    const backend = deferred();
    const rec = await recordingServer({ ready: () => backend.promise });
    servers.push(rec);
    let pongs = 0;
    const clients = Array.from({ length: CLIENTS }, (_, i) => new TestClient(rec.h.url, {
      protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}.${i}`],
      onOpen: (ws) => {
        ws.send(JSON.stringify({ type: 'message', id: `m-${i}`, text: `hello ${i}` }));
        ws.once('pong', () => {
          pongs += 1;
          if (pongs === CLIENTS) backend.resolve(); // every server connection holds its message
        });
        ws.ping();
      },
    }));
    await Promise.all(clients.map((c) => c.until(() => eventsOf(c.frames).length === RUN_EVENTS.length, 'the whole run')));
    await Promise.all(clients.map((c) => c.close()));
    const traces = await Promise.all(clients.map(() => rec.next()));

    const framesByUser = new Map(clients.map((c, i) => [`user-${i}`, c.frames]));
    for (const trace of traces) {
      const result = replayFile(trace);
      expect(result.divergences).toEqual([]);
      const ready = sentFrames(result)[0];
      expect(ready?.type).toBe('ready');
      expect(sentFrames(result)).toEqual(framesByUser.get(ready?.type === 'ready' ? ready.userId : ''));
      expect(JSON.stringify(trace)).not.toContain(TOKEN);
      const kinds = trace.entries.map((e) => (e.kind === 'event' ? e.event.type : e.kind));
      expect(kinds.indexOf('socket.frame')).toBeLessThan(kinds.indexOf('backend.ready'));
    }
  });

  it('tokens in auth frames and in verifier errors are redacted; rejected and accepted connections replay', async () => {
    const rec = await recordingServer();
    servers.push(rec);
    const good = new TestClient(rec.h.url, {
      protocols: ['lockstep.v1'],
      onOpen: (ws) => {
        ws.send(JSON.stringify({ type: 'auth', token: TOKEN }));
        ws.send(JSON.stringify({ type: 'ping', id: 'p-1' }));
      },
    });
    await good.untilType('pong');
    await good.close();
    const accepted = await rec.next();

    const bad = new TestClient(rec.h.url, {
      protocols: ['lockstep.v1'],
      onOpen: (ws) => ws.send(JSON.stringify({ type: 'auth', token: `wrong-${TOKEN}` })),
    });
    expect((await bad.closed).code).toBe(4401);
    const rejected = await rec.next();

    for (const trace of [accepted, rejected]) {
      expect(JSON.stringify(trace)).not.toContain(TOKEN);
      expect(trace.input).toMatchObject({ token: null, credentials: 'frame' });
      expect(replayFile(trace).divergences).toEqual([]);
    }
    expect(accepted.entries[0]).toMatchObject({ kind: 'event', event: { type: 'socket.frame', data: '{"type":"auth","token":"[redacted]"}' } });
    // The verifier's error is the `auth.refused` event's reason, the token scrubbed from it.
    expect(rejected.entries.find((e) => e.kind === 'event' && e.event.type === 'auth.refused')).toMatchObject({ event: { reason: 'unknown token [redacted]' } });
    expect(rejected.final).toMatchObject({ state: 'closed', closeCode: 4401 });
    expect(sentFrames(accepted)).toEqual(good.frames);
  });

  it('token refreshes (accepted, rejected, another subject) are recorded and replay to the same frames', async () => {
    // The handshake token and the accepted refresh expire (in an hour: no expiry fires here),
    // so the replay must also reproduce the expiresAt of ready and auth_ok from the trace.
    const refreshing = async (token: string) => {
      if (token === TOKEN) return { userId: USER, expiresAt: Date.now() + 3_600_000 };
      if (token === `${TOKEN}.later`) return { userId: USER, expiresAt: Date.now() + 7_200_000 };
      if (token === `${TOKEN}.bob`) return { userId: 'bob' };
      throw new Error(`unknown token ${token}`);
    };
    const rec = await recordingServer({ verifyToken: refreshing });
    servers.push(rec);
    const client = new TestClient(rec.h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}`] });
    await client.untilType('ready');
    const answers = () => client.frames.filter((f) => f.type === 'auth_ok' || f.type === 'error');
    const refresh = async (token: string, answered: number) => {
      client.send({ type: 'auth', token });
      await client.until(() => answers().length === answered, `the answer to refresh #${answered}`);
    };
    await refresh(`${TOKEN}.later`, 1);
    await refresh('not-a-token-at-all', 2);
    await refresh(`${TOKEN}.bob`, 3);
    client.send({ type: 'message', id: 'after-refreshes', text: 'still alice' });
    await client.until(() => eventsOf(client.frames).length === RUN_EVENTS.length, 'the run after the refreshes');
    await client.close();
    expect(answers()).toMatchObject([
      { type: 'auth_ok', userId: USER },
      { type: 'error', code: 'LOCKSTEP_E_INVALID_TOKEN' },
      { type: 'error', code: 'LOCKSTEP_E_SUBJECT_MISMATCH' },
    ]);

    const trace = await rec.next();
    // The refresh answers are events the connection received (trace version 5).
    const refreshAnswers = trace.entries.flatMap((e) => (e.kind === 'event' && e.event.type.startsWith('refresh.') ? [e.event] : []));
    expect(refreshAnswers).toMatchObject([
      { type: 'refresh.verified', userId: USER, expiresAt: expect.any(Number), verifiedAt: expect.any(Number) },
      { type: 'refresh.refused' },
      { type: 'refresh.verified', userId: 'bob' },
    ]);
    const result = replayFile(trace);
    expect(result.divergences).toEqual([]);
    expect(sentFrames(result)).toEqual(client.frames);
    expect(JSON.stringify(trace)).not.toContain(TOKEN);
    expect(JSON.stringify(trace)).not.toContain('not-a-token-at-all');
  });

  it('real timers and real time between socket and stream events (heartbeats, rate refills) replay in the recorded order', async () => {
    // A 100 ms heartbeat: real delays fire (late, as real timers do) in between frames, acks and
    // run events of several concurrent connections. messageRate 1000/s: the bucket refills from
    // the frames' real arrival times, recorded with each frame and replayed from them.
    const rec = await recordingServer({ limits: { messageRate: 1000, messageBurst: 3, heartbeatMs: 100 } });
    servers.push(rec);
    const pinged: Array<Promise<void>> = [];
    const clients = Array.from({ length: 4 }, (_, i) => new TestClient(rec.h.url, {
      protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}.${i}`],
      onOpen: (ws) => {
        pinged.push(new Promise((resolve) => ws.once('ping', () => resolve())));
        for (let m = 0; m < 6; m += 1) ws.send(JSON.stringify({ type: 'message', id: `c${i}-m${m}`, text: `hi ${m}` }));
      },
    }));
    // Six messages against a burst of three: some are refused unless the bucket refilled.
    await Promise.all(clients.map((c) => c.until(() => c.frames.filter((f) => f.type === 'ack' || f.type === 'error').length === 6, 'six answers')));
    await Promise.all(clients.map((c) => c.until(() => eventsOf(c.frames).filter((e) => e.event === 'agent_completed').length === c.frames.filter((f) => f.type === 'ack').length, 'every run')));
    await within(Promise.all(pinged), 5_000, 'a heartbeat ping on every connection');
    await Promise.all(clients.map((c) => c.close()));
    const traces = await Promise.all(clients.map(() => rec.next()));

    const delays = traces.flatMap((t) => t.entries.filter((e) => e.kind === 'delay'));
    expect(delays.length).toBeGreaterThan(0);
    for (const trace of traces) {
      const result = replayFile(trace);
      expect(result.divergences).toEqual([]);
      expect(new Set(clients.map((c) => JSON.stringify(c.frames)))).toContain(JSON.stringify(sentFrames(result)));
    }
  });

  it('delays driven by a SimulatedClock server (heartbeat ping, missing pong) are recorded and replayed', async () => {
    const clock = new SimulatedClock();
    const rec = await recordingServer({ clock, limits: { heartbeatMs: 1_000 } });
    servers.push(rec);
    const client = new TestClient(rec.h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}`] });
    await client.untilType('ready');
    // No pong: the test client's socket is paused, so it never reads the ping.
    client.ws.pause();
    clock.increment(1_000); // heartbeat: ping
    clock.increment(1_000); // no pong within one interval: terminate (1006)
    const trace = await rec.next();
    expect(trace.entries.filter((e) => e.kind === 'delay').map((e) => e.kind === 'delay' && e.delay)).toEqual(['heartbeat', 'heartbeat']);
    expect(trace.effects.map((e) => e.type)).toEqual(expect.arrayContaining(['ping', 'terminateSocket']));
    const result = replayFile(trace);
    expect(result.divergences).toEqual([]);
    expect(result.final).toMatchObject({ state: 'closed', closeCode: 1006 });
    client.ws.terminate();
  });

  it('a resume (missed events replayed in stream.joined) and a server shutdown (1001) replay', async () => {
    const rec = await recordingServer();
    const first = new TestClient(rec.h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}.r`] });
    await first.untilType('ready');
    const { epoch } = first.frames[0] as ReadyFrame;
    first.send({ type: 'message', id: 'm-r', text: 'resume me' });
    await first.until(() => eventsOf(first.frames).length === RUN_EVENTS.length, 'the whole run');
    await first.close();
    expect(replayFile(await rec.next()).divergences).toEqual([]);

    const again = new TestClient(`${rec.h.url}?epoch=${epoch}&lastSeq=2`, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}.r`] });
    await again.until(() => eventsOf(again.frames).length === 3, 'the missed events');
    await rec.stop(); // shutdown: server.shutdown → closing 1001
    expect((await again.closed).code).toBe(1001);
    const trace = await rec.next();
    expect(trace.input.resume).toEqual({ epoch, lastSeq: 2 });
    const kinds = trace.entries.map((e) => (e.kind === 'event' ? e.event.type : e.kind));
    expect(kinds).toContain('server.shutdown');
    const result = replayFile(trace);
    expect(result.divergences).toEqual([]);
    expect(sentFrames(result)).toEqual(again.frames);
    expect(result.final).toMatchObject({ state: 'closed', closeCode: 1001 });
  });

  it('a tampered trace diverges, with the difference named', async () => {
    const rec = await recordingServer();
    servers.push(rec);
    const client = new TestClient(rec.h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}`] });
    await client.untilType('ready');
    client.send({ type: 'message', id: 'm-2', text: 'hi' });
    await client.until(() => eventsOf(client.frames).length === RUN_EVENTS.length, 'the whole run');
    await client.close();
    const trace = await rec.next();
    expect(replayFile(trace).ok).toBe(true);

    // The verifier said no: the replay closes 4401 where the recording went on to `ready`.
    const refused = structuredClone(trace);
    const verify = refused.entries.find((e) => e.kind === 'event' && e.event.type === 'auth.verified');
    if (verify?.kind !== 'event') throw new Error('no auth.verified entry');
    verify.event = { type: 'auth.refused', reason: 'tampered' };
    const result = replayFile(refused);
    expect(result.ok).toBe(false);
    expect(result.final).toMatchObject({ state: 'closed', closeCode: 4401 });
    expect(result.divergences.map((d) => d.what)).toEqual(expect.arrayContaining(['effects', 'final']));

    // A stream event with another seq: the frame the replay sends differs from the recorded one.
    const reordered = structuredClone(trace);
    const streamEvent = reordered.entries.find((e) => e.kind === 'event' && e.event.type === 'stream.event');
    if (streamEvent?.kind !== 'event' || streamEvent.event.type !== 'stream.event') throw new Error('no stream event');
    streamEvent.event.event.seq += 7;
    const diverged = replayFile(reordered);
    expect(diverged.divergences).toHaveLength(1);
    expect(diverged.divergences[0]).toMatchObject({ what: 'effects' });
  });

  it('record: { dir, maxEntries } bounds a trace: it is marked truncated and its prefix replays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-record-'));
    const h = await startServer({ verifyToken, record: { dir, maxEntries: 4 } });
    const client = new TestClient(h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}`] });
    await client.untilType('ready');
    for (let i = 0; i < 5; i += 1) client.send({ type: 'ping', id: `p${i}` });
    await client.untilType('pong', 5);
    await client.close();
    await h.server.close(); // resolves once the trace file is written
    const [file] = readdirSync(dir);
    const trace = JSON.parse(readFileSync(join(dir, file!), 'utf8')) as ConnectionTrace;
    expect(trace.truncated).toBe(true);
    expect(trace.entries).toHaveLength(4);
    expect(trace.final.state).toBe('closed');
    const result = replayTrace(trace);
    expect(result.divergences).toEqual([]);
    expect(sentFrames(result)).toEqual(client.frames.slice(0, sentFrames(result).length));
  });

  it('record: { dir, maxBytes } bounds a trace in bytes (truncatedBy maxBytes); the file is JSON and its prefix replays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-record-'));
    const h = await startServer({ verifyToken, record: { dir, maxBytes: 64 * 1024 } });
    const client = new TestClient(h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${TOKEN}`] });
    await client.untilType('ready');
    for (let i = 0; i < 10; i += 1) client.send({ type: 'ping', id: `p${i}-${'x'.repeat(20_000)}` });
    await client.untilType('pong', 10);
    await client.close();
    await h.server.close();
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
    const text = readFileSync(join(dir, files[0]!), 'utf8');
    expect(text.length).toBeLessThan(64 * 1024 + 4096);
    const trace = JSON.parse(text) as ConnectionTrace;
    expect(trace).toMatchObject({ truncated: true, truncatedBy: 'maxBytes' });
    expect(trace.entries.length).toBeLessThan(10);
    expect(replayTrace(trace).divergences).toEqual([]);
  });

  it('lockstep serve --record writes a trace per connection; lockstep replay exits 0, 1 when tampered, 2 when invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-record-'));
    const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
    const server = spawn(process.execPath, [cli, 'serve', '--port', '0', '--record', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [line] = (await once(server.stdout, 'data')) as [Buffer];
    const url = /ws:\/\/\S+\/ws/.exec(line.toString())?.[0];
    expect(url).toBeDefined();
    const client = new TestClient(url!, { protocols: ['lockstep.v1', 'lockstep.bearer.rita'] });
    await client.untilType('ready');
    client.send({ type: 'ping', id: 'p' });
    await client.untilType('pong');
    await client.close();
    const exited = once(server, 'exit');
    server.kill('SIGTERM'); // close() waits for pending trace writes
    expect((await exited)[0]).toBe(0);

    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const file = join(dir, files[0]!);
    const replayCli = async (path: string) => {
      const child = spawn(process.execPath, [cli, 'replay', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      return { code, out };
    };

    const ok = await replayCli(file);
    expect(ok.out).toMatch(/socket\.frame \{"type":"ping","id":"p"\}/);
    expect(ok.out).toMatch(/OK: the replay matches the recording/);
    expect(ok.code).toBe(0);

    const trace = JSON.parse(readFileSync(file, 'utf8')) as ConnectionTrace;
    const close = trace.entries.find((e) => e.kind === 'event' && e.event.type === 'socket.close');
    if (close?.kind !== 'event' || close.event.type !== 'socket.close') throw new Error('no socket.close entry');
    close.event.code = 1001;
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(trace));
    const diverged = await replayCli(tampered);
    expect(diverged.out).toMatch(/DIVERGED/);
    expect(diverged.out).toMatch(/final peerCloseCode: recorded 1000, replayed 1001/);
    expect(diverged.code).toBe(1);

    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ ...trace, version: 99 }));
    const refused = await replayCli(invalid);
    expect(refused.out).toMatch(/LOCKSTEP_ERR_INVALID_TRACE/);
    expect(refused.code).toBe(2);
  });
});
