/**
 * ws socket events → connection actor events. Listeners are attached synchronously in the
 * upgrade callback, before ws reads any frame that followed the 101 response (ws would drop
 * a frame that arrives with no `message` listener). Nothing here decides anything.
 */
import type { WebSocket } from 'ws';
import type { ConnectionEvent } from '../../machines/connection.js';
import { closeCodeForSocketError } from '../protocol/socket-errors.js';

/** Anything that accepts connection events: a connection actor. */
export interface EventSink {
  /** Delivers one socket fact to the actor. */
  send(event: ConnectionEvent): void;
}

/**
 * Forwards a ws socket's `message`, `pong`, `error` and `close` events to `actor` as
 * `socket.*` events. Call it synchronously in the upgrade callback, before ws reads a frame.
 */
export function forwardSocketEvents(ws: WebSocket, actor: EventSink): void {
  ws.on('message', (data, isBinary) => {
    actor.send({ type: 'socket.frame', data: isBinary ? null : data.toString() });
  });
  ws.on('pong', () => actor.send({ type: 'socket.pong' }));
  ws.on('error', (error: Error & { code?: string }) => {
    actor.send({ type: 'socket.error', message: error.message, closeCode: closeCodeForSocketError(error.code) });
  });
  ws.on('close', (code, reason) => actor.send({ type: 'socket.close', code, reason: reason.toString() }));
}
