/**
 * ws socket events → connection actor events. Listeners are attached synchronously in the
 * upgrade callback, before ws reads any frame that followed the 101 response (ws would drop
 * a frame that arrives with no `message` listener). Nothing here decides anything.
 */
import type { WebSocket } from 'ws';
import type { ConnectionEvent } from '../../machines/connection.js';
import type { SocketFacts } from '../../machines/connection-bounds.js';
import { closeCodeForSocketError } from '../protocol/socket-errors.js';

/** Anything that accepts connection events: a connection actor. */
export interface EventSink {
  /** Delivers one socket fact to the actor. */
  send(event: ConnectionEvent): void;
}

/** A connection's data path, as far as client frames go (connection-data-path.ts offerFrame). */
export interface FrameSink {
  offerFrame(data: string | null, bytes: number): void;
}

/** What the server knows when a frame arrives (send buffer, bytes held server-wide, the user's tokens); read, never judged. */
export type FrameFacts = () => Omit<SocketFacts, 'bytes'>;

/**
 * Forwards a ws socket's `message`, `pong`, `error` and `close` events to `actor` as
 * `socket.*` events. Call it synchronously in the upgrade callback, before ws reads a frame.
 * `facts`: read at each frame and attached to it with the frame's wire size. `path`: the
 * connection's data path, which then receives every frame instead (and reads the facts itself).
 */
export function forwardSocketEvents(ws: WebSocket, actor: EventSink, facts?: FrameFacts, path?: FrameSink): void {
  ws.on('message', (data, isBinary) => {
    // binaryType 'nodebuffer' (the default): every message, fragmented or not, is one Buffer.
    const bytes = (data as Buffer).length;
    // With a data path, the path reads the facts and hands the machine what its rule leaves to it.
    if (path) path.offerFrame(isBinary ? null : data.toString(), bytes);
    else actor.send({ type: 'socket.frame', data: isBinary ? null : data.toString(), bytes, ...facts?.() });
  });
  ws.on('pong', (payload) => actor.send({ type: 'socket.pong', payload: payload.toString() }));
  ws.on('error', (error: Error & { code?: string }) => {
    actor.send({ type: 'socket.error', message: error.message, closeCode: closeCodeForSocketError(error.code) });
  });
  ws.on('close', (code, reason) => actor.send({ type: 'socket.close', code, reason: reason.toString() }));
}
