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

// The translations of ws's events, shared by forwardSocketEvents and the server's ConnectionLink.

/** A client frame as the data path takes it: binaryType 'nodebuffer' (the default) makes every message, fragmented or not, one Buffer. */
export const frameText = (data: Buffer, isBinary: boolean): string | null => (isBinary ? null : data.toString());

/** `socket.frame` for the machine, with the frame's wire size and the facts read as it arrived. */
export const frameEvent = (data: Buffer, isBinary: boolean, facts: Omit<SocketFacts, 'bytes'> | undefined): ConnectionEvent =>
  ({ type: 'socket.frame', data: frameText(data, isBinary), bytes: data.length, ...facts });

export const pongEvent = (payload: Buffer): ConnectionEvent => ({ type: 'socket.pong', payload: payload.toString() });

export const errorEvent = (error: Error & { code?: string }): ConnectionEvent =>
  ({ type: 'socket.error', message: error.message, closeCode: closeCodeForSocketError(error.code) });

export const closeEvent = (code: number, reason: Buffer): ConnectionEvent => ({ type: 'socket.close', code, reason: reason.toString() });

/**
 * Forwards a ws socket's `message`, `pong`, `error` and `close` events to `actor` as
 * `socket.*` events. Call it synchronously in the upgrade callback, before ws reads a frame.
 * `facts`: read at each frame and attached to it with the frame's wire size. `path`: the
 * connection's data path, which then receives every frame instead (and reads the facts itself).
 */
export function forwardSocketEvents(ws: WebSocket, actor: EventSink, facts?: FrameFacts, path?: FrameSink): void {
  ws.on('message', (data, isBinary) => {
    // With a data path, the path reads the facts and hands the machine what its rule leaves to it.
    if (path) path.offerFrame(frameText(data as Buffer, isBinary), (data as Buffer).length);
    else actor.send(frameEvent(data as Buffer, isBinary, facts?.()));
  });
  ws.on('pong', (payload) => actor.send(pongEvent(payload)));
  ws.on('error', (error: Error & { code?: string }) => actor.send(errorEvent(error)));
  ws.on('close', (code, reason) => actor.send(closeEvent(code, reason)));
}
