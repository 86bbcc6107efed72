/**
 * `socketio-protocol`: lockstep's protocol v1 written by hand on socket.io (websocket transport
 * only), with no state machine — the same work as `ws-protocol` (protocol-by-hand.mjs), the
 * frames carried as socket.io messages: every frame, both ways, is one `frame` event whose
 * argument is the frame object (socket.io does the JSON).
 *
 * Credentials: `auth.token` of the socket.io handshake (or an `Authorization: Bearer` header),
 * checked as a dev token in a middleware (refused: `connect_error` "unauthorized"); resume from
 * `auth.epoch` / `auth.lastSeq`. Then `ready`, the same frame checks (except the depth check
 * before parsing: socket.io parses before the application sees the frame), rate limit, dedup,
 * `ack`, runs, per-user seq and a bounded log. Events go to a user's tabs as one broadcast to
 * the user's room (socket.io encodes the packet and its WebSocket frame once for all tabs);
 * before it every tab's `bufferedAmount` is read, and a tab over the high-water mark is left
 * out of the broadcast and catches up from the log when its engine drained (1008-like
 * disconnect `slow consumer` past `maxLagEvents`; terminated at `maxOutgoingBytes`).
 * Heartbeat: socket.io's own (25 s).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { LIMITS, Streams, TokenBucket, checkClientFrame, countFrame, devUserId, errorFrame, tokenFromUpgrade } from './protocol-by-hand.mjs';

const RATE = { rate: 1, burst: 1_000_000_000 };
const room = (userId) => `user:${userId}`;

/** Bytes waiting on a tab: the send buffer of the ws socket under engine.io (kernel-pending and ws's queue). */
function bufferedBytes(conn) {
  return conn.socket.conn.transport?.socket?.bufferedAmount ?? 0;
}

export async function startTarget() {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false, maxHttpBufferSize: LIMITS.maxPayload });
  const live = new Set();
  const send = (conn, frame) => conn.socket.emit('frame', frame);

  const catchUp = (conn) => {
    const missed = conn.stream.after(conn.behindFrom - 1);
    if (!missed || conn.stream.lastSeq - conn.behindFrom >= LIMITS.maxLagEvents) return conn.socket.disconnect(true);
    conn.behindFrom = 0;
    conn.socket.join(room(conn.userId));
    for (const entry of missed) send(conn, entry.frame);
  };

  /** A tab that cannot take more now leaves the room until it drained; false when it is out. */
  const canTake = (conn, seq) => {
    if (conn.behindFrom !== 0) {
      if (seq - conn.behindFrom >= LIMITS.maxLagEvents) conn.socket.disconnect(true);
      return false;
    }
    const buffered = bufferedBytes(conn);
    if (buffered >= LIMITS.maxOutgoingBytes) {
      conn.socket.conn.close(true);
      return false;
    }
    if (buffered < LIMITS.highWaterMarkBytes) return true;
    conn.behindFrom = seq;
    conn.socket.leave(room(conn.userId));
    conn.socket.conn.once('drain', () => conn.behindFrom !== 0 && catchUp(conn));
    return false;
  };

  const streams = new Streams({
    // The log keeps the frame object (socket.io encodes it when sent); its JSON length is the byte bound's measure.
    encode: (event) => ({ frame: event, bytes: JSON.stringify(event).length }),
    deliver: (stream, entry) => {
      for (const conn of stream.tabs) canTake(conn, entry.seq);
      io.to(room(stream.userId)).emit('frame', entry.frame);
    },
  });

  io.use((socket, next) => {
    const auth = socket.handshake.auth ?? {};
    const userId = devUserId(auth.token ?? tokenFromUpgrade(socket.handshake.headers));
    if (userId === undefined) return next(new Error('unauthorized'));
    socket.data.userId = userId;
    socket.data.resume = typeof auth.epoch === 'string' && Number.isSafeInteger(auth.lastSeq) && auth.lastSeq >= 0
      ? { epoch: auth.epoch, lastSeq: auth.lastSeq }
      : undefined;
    next();
  });

  io.on('connection', (socket) => {
    const userId = socket.data.userId;
    const conn = {
      socket,
      id: randomUUID(),
      userId,
      stream: streams.of(userId),
      runs: 0,
      badFrames: 0,
      bucket: new TokenBucket(RATE.rate, RATE.burst),
      behindFrom: 0,
    };
    live.add(conn);
    socket.on('frame', (value) => onFrame(conn, value));
    socket.on('disconnect', () => {
      live.delete(conn);
      streams.leave(conn, conn.stream);
    });
    const { ready, replay } = streams.join(conn, conn.stream, conn.id, socket.data.resume);
    send(conn, ready);
    for (const entry of replay) send(conn, entry.frame);
    void socket.join(room(userId));
  });

  function refuse(conn, error) {
    send(conn, error);
    if (countFrame(conn, true)) conn.socket.disconnect(true);
  }

  function onFrame(conn, value) {
    // socket.io carries binary attachments as Buffers: refused like a binary WebSocket frame.
    if (value instanceof Uint8Array) return refuse(conn, errorFrame('LOCKSTEP_E_BINARY_UNSUPPORTED'));
    const { frame, error } = checkClientFrame(value);
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
    send(conn, { type: 'ack', id: message.id, runId });
    streams.startRun(conn.stream, runId).complete({});
  }

  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: http.address().port,
    connections: () => live.size,
    startRun: (userId) => streams.startRun(streams.of(userId), `push.${randomUUID()}`),
    close: () => new Promise((resolve) => {
      io.disconnectSockets(true);
      io.close(() => resolve());
    }),
  };
}
