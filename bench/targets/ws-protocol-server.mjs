/**
 * `ws-protocol`: lockstep's wire protocol v1 written by hand on `ws`, with no state machine —
 * the fair baseline for lockstep's CPU and memory (protocol-by-hand.mjs lists the work). The
 * same bench client and the same client-side checks run against it unchanged.
 *
 * Per connection: credentials from the upgrade (or a first `auth` frame within 5 s), dev-token
 * check, `ready` (with lockstep's resume rules), then each client frame parsed and checked;
 * `message` → rate limit, dedup by id per user, `ack`, and a run (`agent_started`,
 * `agent_completed`: the bench's do-nothing handler) on the user's stream; `ping` → `pong`;
 * `auth` → a refresh. Every event is encoded once and written to every tab of its user.
 *
 * Writes: the first write to a socket in an I/O callback corks it, and it is uncorked once the
 * callback's microtasks ran (lockstep's write batching, by hand), so an ack and its run's events
 * leave in one syscall. Send buffer: before an event is written the tab's `bufferedAmount` is
 * read; at `maxOutgoingBytes` the socket is terminated, at `highWaterMarkBytes` the tab stops
 * receiving events and catches up from the log once the socket drained (1008 `slow consumer` if
 * it fell more than `maxLagEvents` behind or the log dropped what it missed). Heartbeat: one
 * timer pings every socket each 25 s and terminates those whose pong did not come back.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { clearInterval } from 'node:timers';
import { WebSocketServer } from 'ws';
import { LIMITS, Streams, TokenBucket, countFrame, devUserId, errorFrame, parseClientFrame, resumeFromQuery, tokenFromUpgrade } from './protocol-by-hand.mjs';

const PATHS = new Set(['/ws', '/websocket']);
// The bench lifts lockstep's rate limit the same way (bench/targets/lockstep-server.mjs).
const RATE = { rate: 1, burst: 1_000_000_000 };

/** Corks a socket at its first write and uncorks every corked socket once the microtasks drained. */
class WriteBatch {
  corked = new Set();
  flush = () => {
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  };

  add(socket) {
    if (this.corked.has(socket) || socket.destroyed) return;
    socket.cork();
    this.corked.add(socket);
    if (this.corked.size === 1) queueMicrotask(() => process.nextTick(this.flush));
  }
}

export async function startTarget() {
  const batch = new WriteBatch();
  const send = (conn, frame) => {
    batch.add(conn.socket);
    conn.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  };

  const catchUp = (conn) => {
    const missed = conn.stream.after(conn.behindFrom - 1);
    if (!missed || conn.stream.lastSeq - conn.behindFrom >= LIMITS.maxLagEvents) return conn.ws.close(1008, 'slow consumer');
    conn.behindFrom = 0;
    for (const entry of missed) deliver(conn, entry);
  };

  const deliver = (conn, entry) => {
    if (conn.behindFrom !== 0) {
      if (entry.seq - conn.behindFrom >= LIMITS.maxLagEvents) conn.ws.close(1008, 'slow consumer');
      return;
    }
    const buffered = conn.ws.bufferedAmount;
    if (buffered >= LIMITS.maxOutgoingBytes) return conn.ws.terminate();
    if (buffered >= LIMITS.highWaterMarkBytes) {
      conn.behindFrom = entry.seq;
      conn.socket.once('drain', () => conn.behindFrom !== 0 && catchUp(conn));
      return;
    }
    send(conn, entry.frame);
  };

  // Encoded once per event; the text is what the log keeps and every tab receives.
  const streams = new Streams({
    encode: (event) => {
      const frame = JSON.stringify(event);
      return { frame, bytes: frame.length };
    },
    deliver: (stream, entry) => {
      for (const conn of stream.tabs) deliver(conn, entry);
    },
  });

  const http = createServer();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.maxPayload,
    handleProtocols: (protocols) => (protocols.has('lockstep.v1') ? 'lockstep.v1' : false),
  });
  const live = new Set();

  http.on('upgrade', (req, socket, head) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if (!PATHS.has(q === -1 ? url : url.slice(0, q))) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = tokenFromUpgrade(req.headers);
    const resume = q === -1 ? undefined : resumeFromQuery(url.slice(q + 1));
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, token, resume));
  });

  function accept(ws, token, resume) {
    const conn = {
      ws,
      socket: ws._socket,
      id: randomUUID(),
      userId: undefined,
      stream: undefined,
      runs: 0,
      badFrames: 0,
      bucket: new TokenBucket(RATE.rate, RATE.burst),
      alive: true,
      behindFrom: 0,
      authTimer: undefined,
    };
    live.add(conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', () => {
      live.delete(conn);
      clearTimeout(conn.authTimer);
      if (conn.stream) streams.leave(conn, conn.stream);
    });
    ws.on('error', () => {});
    // Listeners attached synchronously: ws drops frames that arrive before a 'message' listener.
    ws.on('message', (data, isBinary) => onFrame(conn, data, isBinary, resume));
    if (token !== undefined) authenticate(conn, token, resume);
    else conn.authTimer = setTimeout(() => ws.close(4408, 'auth timeout'), LIMITS.authTimeoutMs);
  }

  function authenticate(conn, token, resume) {
    const userId = devUserId(token);
    if (userId === undefined) return conn.ws.close(4401, 'unauthorized');
    clearTimeout(conn.authTimer);
    conn.userId = userId;
    conn.stream = streams.of(userId);
    const { ready, replay } = streams.join(conn, conn.stream, conn.id, resume);
    send(conn, ready);
    for (const entry of replay) deliver(conn, entry);
  }

  function refuse(conn, error) {
    send(conn, error);
    if (countFrame(conn, true)) conn.ws.close(1008, error.code === 'LOCKSTEP_E_RATE_LIMITED' ? 'rate limit exceeded' : 'too many bad frames');
  }

  function onFrame(conn, data, isBinary, resume) {
    if (conn.ws.readyState !== 1) return;
    if (conn.userId === undefined) {
      // Credentials did not come with the upgrade: the first frame must be auth.
      const parsed = isBinary ? undefined : parseClientFrame(data.toString());
      if (parsed?.frame?.type !== 'auth') return conn.ws.close(4401, 'first frame must be auth');
      return authenticate(conn, parsed.frame.token, resume);
    }
    if (isBinary) return refuse(conn, errorFrame('LOCKSTEP_E_BINARY_UNSUPPORTED'));
    const { frame, error } = parseClientFrame(data.toString());
    if (error) return refuse(conn, error);
    switch (frame.type) {
      case 'message':
        return onMessage(conn, frame);
      case 'ping':
        countFrame(conn, false);
        return send(conn, frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id });
      case 'auth': {
        countFrame(conn, false);
        const userId = devUserId(frame.token);
        if (userId === undefined) return send(conn, errorFrame('LOCKSTEP_E_INVALID_TOKEN'));
        if (userId !== conn.userId) return send(conn, errorFrame('LOCKSTEP_E_SUBJECT_MISMATCH'));
        return send(conn, { type: 'auth_ok', userId });
      }
    }
  }

  function onMessage(conn, message) {
    if (!conn.bucket.take()) return refuse(conn, errorFrame('LOCKSTEP_E_RATE_LIMITED', undefined, message.id));
    countFrame(conn, false);
    const runId = `${conn.id}.${conn.runs + 1}`;
    const original = conn.stream.recordMessage(message.id, runId);
    if (original !== undefined) return send(conn, { type: 'ack', id: message.id, runId: original, duplicate: true });
    conn.runs += 1;
    // The ack is written before the run starts, so it precedes every event of the run.
    send(conn, { type: 'ack', id: message.id, runId });
    // The bench's handler does nothing: the run completes with {} at once.
    streams.startRun(conn.stream, runId).complete({});
  }

  const heartbeat = setInterval(() => {
    for (const conn of live) {
      if (!conn.alive) conn.ws.terminate();
      else {
        conn.alive = false;
        conn.ws.ping();
      }
    }
  }, LIMITS.heartbeatMs);
  heartbeat.unref();

  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: http.address().port,
    connections: () => live.size,
    /** A server-started run on the user's stream (lockstep: `server.startRun`). */
    startRun: (userId) => streams.startRun(streams.of(userId), `push.${randomUUID()}`),
    close: () => new Promise((resolve) => {
      clearInterval(heartbeat);
      for (const conn of live) conn.ws.terminate();
      wss.close();
      http.close(() => resolve());
    }),
  };
}
