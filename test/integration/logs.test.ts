/**
 * The operator's log through a real pino logger at `trace`: one line per lifecycle
 * transition worth attention, with connectionId, userId and durations — and never a token,
 * accepted or rejected, whatever channel it came through.
 */
import { request } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { RUN_EVENTS, deferred, eventsOf, startServer } from './harness.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { ReadyFrame } from '../../src/protocol/frames.js';

const GOOD_TOKEN = 'tok-SECRET-7f3a9c-alice';
const BAD_TOKEN = 'tok-SECRET-bad-0d41e2';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function capturingLogger() {
  const raw: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void raw.push(line) });
  const lines = () => raw.map((l) => JSON.parse(l) as LogLine);
  return { logger, raw, lines };
}

describe('lifecycle logs', () => {
  it('logs ready, refused, resume, upgrade refusals and closes with ids and durations, never a token', async () => {
    const { logger, raw, lines } = capturingLogger();
    const h = await startServer({
      logger,
      // A verifier whose error message repeats the token: lockstep must not log it either.
      verifyToken: async (token) => {
        if (token === GOOD_TOKEN) return { userId: 'alice' };
        throw new Error(`token ${token} is not valid`);
      },
    });

    // Accepted through the subprotocol, one full run.
    const viaSubprotocol = new TestClient(h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${GOOD_TOKEN}`] });
    await viaSubprotocol.untilType('ready');
    viaSubprotocol.send({ type: 'message', id: 'm1', text: 'hi' });
    await viaSubprotocol.until(() => eventsOf(viaSubprotocol.frames).length === RUN_EVENTS.length, 'run');
    await viaSubprotocol.close();

    // Accepted through the Authorization header, asking to resume from another epoch.
    const viaHeader = new TestClient(`${h.url}?epoch=elsewhere&lastSeq=3`, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } });
    await viaHeader.untilType('ready');
    await viaHeader.close();

    // Resuming inside retention: the three events after seq 2 are replayed.
    const { epoch } = viaSubprotocol.frames[0] as ReadyFrame;
    const resumed = new TestClient(`${h.url}?epoch=${epoch}&lastSeq=2`, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } });
    await resumed.until(() => eventsOf(resumed.frames).length === 3, 'the replay');
    await resumed.close();

    // Rejected through the header and through the auth frame: 4401.
    const badHeader = new TestClient(h.url, { headers: { authorization: `Bearer ${BAD_TOKEN}` } });
    expect((await badHeader.closed).code).toBe(4401);
    const badFrame = new TestClient(h.url, { onOpen: (ws) => ws.send(JSON.stringify({ type: 'auth', token: BAD_TOKEN })) });
    expect((await badFrame.closed).code).toBe(4401);

    // An upgrade on an unknown path, with a token in the query string: 404, path only.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.httpUrl}/nope?token=${BAD_TOKEN}`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);

    await h.server.close();

    const text = raw.join('');
    expect(text).not.toContain(GOOD_TOKEN);
    expect(text).not.toContain(BAD_TOKEN);
    expect(text).not.toContain('SECRET');

    const all = lines();
    const ready = all.filter((l) => l.msg === 'connection ready');
    expect(ready).toHaveLength(3);
    for (const line of ready) {
      expect(line).toMatchObject({ level: 30, userId: 'alice', connectionId: expect.any(String) });
      expect(line.handshakeMs).toEqual(expect.any(Number));
    }
    expect(all.find((l) => l.msg.startsWith('resume impossible'))).toMatchObject({
      level: 40,
      userId: 'alice',
      reason: 'epoch',
      requestedSeq: 3,
    });
    expect(all.find((l) => l.msg === 'resume replayed missed events')).toMatchObject({
      level: 30,
      userId: 'alice',
      fromSeq: 2,
      toSeq: 5,
      replayed: 3,
    });
    const refused = all.filter((l) => l.msg === 'connection refused');
    expect(refused).toHaveLength(2);
    for (const line of refused) {
      expect(line).toMatchObject({ level: 40, code: 4401, reason: 'unauthorized' });
      expect(line.userId).toBeUndefined();
      expect(line.lifetimeMs).toEqual(expect.any(Number));
    }
    const closed = all.filter((l) => l.msg === 'connection closed');
    expect(closed).toHaveLength(3);
    for (const line of closed) {
      expect(line).toMatchObject({ level: 30, userId: 'alice', code: 1000 });
      expect(line.lifetimeMs).toEqual(expect.any(Number));
    }
    expect(all.find((l) => l.msg === 'upgrade refused')).toMatchObject({ level: 40, status: 404, path: '/nope' });
    expect(h.server.liveConnections).toBe(0);
  });

  it('logs a 1013 refusal when the backend is not ready, and a 503 for an upgrade while draining', async () => {
    const { logger, lines } = capturingLogger();
    const gate = deferred();
    let backendUp = false;
    const h = await startServer({
      logger,
      ready: () => (backendUp ? Promise.resolve() : Promise.reject(new Error('supervisor down'))),
      handler: async (_message, run) => {
        await gate.promise;
        run.complete({ text: 'late' });
      },
    });
    const refused = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.bob'] });
    expect((await refused.closed).code).toBe(1013);

    backendUp = true;
    const busy = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.bob'] });
    await busy.untilType('ready');
    busy.send({ type: 'message', id: 'm1', text: 'slow' });
    await busy.untilType('ack');
    const closing = h.server.close(); // draining: the run is in flight
    const late = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.bob'] });
    await expect(late.opened).rejects.toThrow('503');
    gate.resolve();
    await closing;

    const all = lines();
    expect(all.find((l) => l.msg === 'connection refused')).toMatchObject({ level: 40, code: 1013, reason: 'backend not ready' });
    expect(all.find((l) => l.msg === 'upgrade refused')).toMatchObject({ level: 40, status: 503, path: '/ws' });
    expect(all.find((l) => l.msg === 'connection closed' && l.code === 1001)).toMatchObject({ level: 30, userId: 'bob' });
  });

  it('logs a slow consumer when its socket congests and when it caught up from the log', async () => {
    const { logger, lines } = capturingLogger();
    const PUSHES = 400;
    const payload = 'x'.repeat(32 * 1024);
    const h = await startServer({
      logger,
      eventLog: new MemoryEventLog({ retainEvents: 4 * PUSHES, retainBytesPerUser: 256 * 1024 * 1024 }),
      limits: { highWaterMarkBytes: 256 * 1024, maxLagEvents: 4 * PUSHES },
    });
    const reader = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.nora'] });
    await reader.untilType('ready');
    reader.ws.pause(); // stop reading: the kernel buffers fill, then ws's send buffer grows
    for (let i = 0; i < PUSHES; i++) h.server.sendToUser('nora', { i, payload });
    expect(lines().find((l) => l.msg.startsWith('slow consumer: connection congested'))).toMatchObject({ level: 40, userId: 'nora' });

    reader.ws.resume();
    await reader.until(() => eventsOf(reader.frames).length === 2 * PUSHES, 'every event');
    await reader.close();
    await h.server.close();
    const caughtUp = lines().find((l) => l.msg === 'slow consumer caught up');
    expect(caughtUp).toMatchObject({ level: 30, userId: 'nora' });
    expect(caughtUp?.congestedMs).toEqual(expect.any(Number));
  });
});
