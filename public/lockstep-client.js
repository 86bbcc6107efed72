/* global WebSocket, setTimeout, clearTimeout, URL */
/**
 * A browser client for protocol lockstep.v1 (docs/protocol.md), with no framework: it opens
 * the browser's own WebSocket with the subprotocols ['lockstep.v1', 'lockstep.bearer.<token>'],
 * remembers `epoch` and the last `seq` it handled, reconnects with backoff and jitter after a
 * drop, and asks to resume with `?epoch&lastSeq`. Messages not yet acknowledged are sent again
 * with the same id after a reconnect: the server acks a repeated id as a duplicate and starts
 * no second run, so a message is never lost nor run twice.
 *
 * It reports everything to `handlers`; the page decides how to show it.
 */
import { backoffDelay } from './backoff.js';

/** Close codes after which reconnecting cannot help (docs/errors.md). */
const FINAL_CLOSE_CODES = new Set([1000, 4401]);

export function createLockstepClient({ url, token, handlers, backoff = {}, WebSocketImpl = WebSocket }) {
  let socket;
  let attempt = 0;
  let retryTimer;
  let stopped = false;
  let epoch;
  let lastSeq;
  const unacked = new Map();

  function resumeUrl() {
    const target = new URL(url);
    if (epoch !== undefined && lastSeq !== undefined) {
      target.searchParams.set('epoch', epoch);
      target.searchParams.set('lastSeq', String(lastSeq));
    }
    return target.toString();
  }

  function connect() {
    const target = resumeUrl();
    handlers.onConnecting?.({ url: target, attempt, resuming: epoch !== undefined });
    socket = new WebSocketImpl(target, ['lockstep.v1', `lockstep.bearer.${token}`]);
    socket.onopen = () => handlers.onOpen?.();
    socket.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        handlers.onProtocolError?.(`not JSON: ${String(message.data).slice(0, 80)}`);
        return;
      }
      handleFrame(frame);
    };
    socket.onclose = (event) => {
      handlers.onClose?.({ code: event.code, reason: event.reason });
      if (stopped || FINAL_CLOSE_CODES.has(event.code)) return;
      const delay = backoffDelay(attempt, backoff);
      attempt += 1;
      handlers.onRetry?.({ delay, attempt });
      retryTimer = setTimeout(connect, delay);
    };
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case 'ready': {
        const asked = epoch !== undefined ? { epoch, lastSeq } : undefined;
        attempt = 0;
        // A refused resume continues live from the stream's latest seq (never a silent gap:
        // the page is told, with the reason).
        if (!frame.resumed) lastSeq = frame.lastSeq;
        epoch = frame.epoch;
        handlers.onReady?.(frame, asked);
        for (const message of unacked.values()) send(message);
        return;
      }
      case 'ack':
        unacked.delete(frame.id);
        handlers.onAck?.(frame);
        return;
      case 'event': {
        const expected = lastSeq === undefined ? undefined : lastSeq + 1;
        if (lastSeq === undefined || frame.seq > lastSeq) lastSeq = frame.seq;
        handlers.onEvent?.(frame, expected);
        return;
      }
      case 'error':
        handlers.onServerError?.(frame);
        return;
      default:
        return;
    }
  }

  function send(message) {
    if (socket && socket.readyState === WebSocketImpl.OPEN) {
      socket.send(JSON.stringify({ type: 'message', id: message.id, text: message.text }));
    }
  }

  connect();
  return {
    /** Sends a message now if connected, and again after each reconnect until acked. */
    sendMessage(id, text) {
      const message = { id, text };
      unacked.set(id, message);
      send(message);
    },
    close() {
      stopped = true;
      clearTimeout(retryTimer);
      socket?.close(1000, 'page closed');
    },
  };
}
