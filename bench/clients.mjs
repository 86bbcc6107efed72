/**
 * One client shape for the five targets, so every scenario drives them the same way:
 * `connect(impl, port, user, hooks)` resolves once the connection is usable ("ready":
 * the protocol's `ready` frame for lockstep, ws-protocol and socketio-protocol; socket.io's
 * `connect`, raw ws's `open` for the echo targets), with timestamps
 * (performance.now(), ms) for `tStart`, `tOpen` (WebSocket open) and `tReady`.
 *   hooks.onReply(n)   the round trip for request n completed
 *                      (protocol targets: its run's agent_completed; ws / socket.io: the echo)
 *   hooks.onEvent(frame) one pushed event (fan-out, streaming) arrived; seq already checked
 *   hooks.onViolation(text) an out-of-order / duplicate / unexpected frame
 * Every client parses every frame it receives (JSON), so client-side cost is alike.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { io } from 'socket.io-client';

const noop = () => {};

function message(n) {
  return { type: 'message', id: String(n), text: 'hello' };
}

/** What the scenarios hold of a client on a plain WebSocket (lockstep and raw ws alike). */
function wsHandle(ws, tStart) {
  return {
    tStart,
    tOpen: 0,
    tReady: 0,
    send: (n) => ws.send(JSON.stringify(message(n))),
    close: () => ws.close(1000),
    terminate: () => ws.terminate(),
    whenClosed: new Promise((done) => ws.once('close', done)),
  };
}

/**
 * The client side of protocol v1, whatever carries it: `ready` first, acks map runs to
 * requests, events checked for consecutive `seq` from `ready.lastSeq + 1`.
 */
function protocolFrames(user, hooks, client, resolve) {
  const runToRequest = new Map();
  let nextSeq = 0;
  return (frame, raw) => {
    switch (frame.type) {
      case 'ready':
        client.tReady = performance.now();
        nextSeq = frame.lastSeq + 1;
        resolve(client);
        break;
      case 'ack':
        runToRequest.set(frame.runId, Number(frame.id));
        break;
      case 'event': {
        if (frame.seq !== nextSeq) hooks.onViolation(`${user}: seq ${frame.seq}, expected ${nextSeq}`);
        nextSeq = frame.seq + 1;
        const request = runToRequest.get(frame.runId);
        if (request === undefined) hooks.onEvent(frame);
        else if (frame.event === 'agent_completed') {
          runToRequest.delete(frame.runId);
          hooks.onReply(request);
        }
        break;
      }
      default:
        hooks.onViolation(`${user}: unexpected ${(raw ?? JSON.stringify(frame)).slice(0, 120)}`);
    }
  };
}

/** lockstep's protocol on a WebSocket: lockstep itself, and the hand-written `ws-protocol`. */
function lockstepClient(port, user, hooks) {
  return new Promise((resolve, reject) => {
    const tStart = performance.now();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${user}` }, perMessageDeflate: false });
    const client = wsHandle(ws, tStart);
    const onFrame = protocolFrames(user, hooks, client, resolve);
    ws.on('open', () => (client.tOpen = performance.now()));
    ws.on('error', (error) => reject(error));
    ws.on('close', (code) => reject(new Error(`closed ${code} before ready`)));
    ws.on('message', (data) => {
      const text = data.toString();
      onFrame(JSON.parse(text), text);
    });
  });
}

/** The same protocol frames as socket.io messages (`frame` events both ways): `socketio-protocol`. */
function socketioProtocolClient(port, user, hooks) {
  return new Promise((resolve, reject) => {
    const tStart = performance.now();
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token: user },
    });
    let closed;
    const client = {
      tStart,
      tOpen: 0,
      tReady: 0,
      send: (n) => socket.emit('frame', message(n)),
      close: () => socket.disconnect(),
      terminate: () => socket.disconnect(),
      whenClosed: new Promise((done) => (closed = done)),
    };
    socket.io.on('open', () => (client.tOpen = performance.now()));
    socket.on('disconnect', () => closed());
    socket.on('connect_error', (error) => reject(error));
    socket.on('frame', protocolFrames(user, hooks, client, resolve));
  });
}

function wsClient(port, user, hooks) {
  return new Promise((resolve, reject) => {
    const tStart = performance.now();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?user=${user}`, { perMessageDeflate: false });
    let nextSeq = 1;
    const client = wsHandle(ws, tStart);
    ws.on('open', () => {
      client.tOpen = client.tReady = performance.now();
      resolve(client);
    });
    ws.on('error', (error) => reject(error));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'event') {
        if (frame.seq !== nextSeq) hooks.onViolation(`${user}: seq ${frame.seq}, expected ${nextSeq}`);
        nextSeq = frame.seq + 1;
        hooks.onEvent(frame);
      } else hooks.onReply(Number(frame.id));
    });
  });
}

function socketioClient(port, user, hooks) {
  return new Promise((resolve, reject) => {
    const tStart = performance.now();
    // forceNew: one engine (one WebSocket) per client, not one multiplexed connection.
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { user },
    });
    let nextSeq = 1;
    let closed;
    const client = {
      tStart,
      tOpen: 0,
      tReady: 0,
      send: (n) => socket.emit('m', message(n)),
      close: () => socket.disconnect(),
      terminate: () => socket.disconnect(),
      whenClosed: new Promise((done) => (closed = done)),
    };
    socket.io.on('open', () => (client.tOpen = performance.now()));
    socket.on('connect', () => {
      client.tReady = performance.now();
      resolve(client);
    });
    socket.on('disconnect', () => closed());
    socket.on('connect_error', (error) => reject(error));
    socket.on('r', (frame) => hooks.onReply(Number(frame.id)));
    socket.on('ev', (frame) => {
      if (frame.seq !== nextSeq) hooks.onViolation(`${user}: seq ${frame.seq}, expected ${nextSeq}`);
      nextSeq = frame.seq + 1;
      hooks.onEvent(frame);
    });
  });
}

const factories = {
  lockstep: lockstepClient,
  // The same client, unchanged: ws-protocol speaks lockstep's wire protocol.
  'ws-protocol': lockstepClient,
  'socketio-protocol': socketioProtocolClient,
  ws: wsClient,
  socketio: socketioClient,
};

export function connect(impl, port, user, hooks = {}) {
  return factories[impl](port, user, { onReply: noop, onEvent: noop, onViolation: noop, ...hooks });
}
