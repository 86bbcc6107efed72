/**
 * What the adapter holds for one connection, in one object: its ws socket, its machine, the
 * TCP socket under it and its data path, with the data path's ports as methods; the socket's
 * listeners are functions shared by every connection that find the link on the socket. An
 * idle connection then costs this object where it cost a closure per port and per listener,
 * their contexts and a map entry each (the benchmark's heap per idle connection counts them all).
 *
 * `linkConnection` makes the link in the upgrade callback, synchronously, before ws reads a
 * frame. Nothing here decides anything: it forwards, as socket-events.ts does for any ws.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { ConnectionEvent, HandlerInvocation } from '../../machines/connection.js';
import type { SocketFacts } from '../../machines/connection-bounds.js';
import type { DataPath, DataPathPorts } from '../../machines/connection-data-path.js';
import type { AckFrame, StreamEvent } from '../protocol/frames.js';
import { encodeServerFrame } from '../protocol/codec.js';
import { encodeEventFrameBytes } from './event-frame-bytes.js';
import { closeEvent, errorEvent, frameEvent, frameText, pongEvent } from './socket-events.js';
import type { ConnectionSelf, SocketBinding } from './socket-effects.js';
import type { WriteBatcher } from './write-batching.js';
import type { StreamMessage, StreamReceiver } from '../delivery/stream-hub.js';

/** What a connection asks of its server: one object per server, shared by every connection. */
export interface ConnectionServer {
  readonly batcher: WriteBatcher;
  /** The facts of a frame arriving now for `userId` (undefined before the handshake), with this send buffer. */
  frameFacts(userId: string | undefined, bufferedBytes: number): Omit<SocketFacts, 'bytes'>;
  /** The machine's `spendUserToken` effect, for a message the data path accepted. */
  spendUserToken(userId: string): void;
  /** The machine's `invokeHandler` effect, for a message the data path accepted on `self`'s connection. */
  invokeHandler(self: ConnectionSelf, invocation: HandlerInvocation): void;
  /** The server's monotonic clock (ms): when the hub answered a join. */
  nowMs(): number;
}

/** A connection's machine as its link reads it: events in, the context's user id out. */
export type LinkedMachine = ConnectionSelf & { getSnapshot(): { context: { userId?: string | undefined } } };

const LINK = Symbol('lockstep.link');

/** An event frame's bytes go out as a text frame (ws would send a Buffer as binary). */
const TEXT_FRAME = { binary: false } as const;

/** A ws socket that holds its link in a slot of its own (lockstep's WebSocketServer builds these). */
export class LinkedWebSocket extends WebSocket {
  [LINK]: ConnectionLink | undefined = undefined;
}

/** A socket from any WebSocketServer: an adopted one gets the link as an added property. */
type LinkSlot = WebSocket & { [LINK]?: ConnectionLink };

export class ConnectionLink implements DataPathPorts, SocketBinding, StreamReceiver {
  path: DataPath | undefined = undefined;

  constructor(
    readonly socket: WebSocket,
    readonly machine: LinkedMachine,
    readonly server: ConnectionServer,
    readonly stream: Duplex | undefined,
  ) {}

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  writeEvent(event: StreamEvent): void {
    if (this.stream) this.server.batcher.batch(this.stream);
    this.socket.send(encodeEventFrameBytes(event), TEXT_FRAME);
  }

  writeAck(frame: AckFrame): void {
    if (this.stream) this.server.batcher.batch(this.stream);
    this.socket.send(encodeServerFrame(frame));
  }

  toMachine(event: ConnectionEvent): void {
    this.machine.send(event);
  }

  frameFacts(): Omit<SocketFacts, 'bytes'> {
    return this.server.frameFacts(this.machine.getSnapshot().context.userId, this.socket.bufferedAmount);
  }

  spendUserToken(userId: string): void {
    this.server.spendUserToken(userId);
  }

  invokeHandler(invocation: HandlerInvocation): void {
    this.server.invokeHandler(this.machine, invocation);
  }

  // StreamReceiver: the hub's messages for this connection (its join answer, a refusal, a loss).
  deliver(message: Exclude<StreamMessage, { type: 'stream.event' }>): void {
    if (message.type === 'stream.joined') this.machine.send(Object.assign({}, message, { atMs: this.server.nowMs() }));
    else this.machine.send(message);
  }

  /** An event of the user's stream: the event path writes what its rule allows and hands the rest over. */
  event(event: StreamEvent): void {
    if (this.path) this.path.offerEvent(event);
    else this.machine.send({ type: 'stream.event', event, bufferedBytes: this.socket.bufferedAmount });
  }
}

// One listener function per event for every connection: `this` is the socket (EventEmitter calls listeners on it).
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const link = (this as LinkSlot)[LINK]!;
  // With a data path, the path reads the facts and hands the machine what its rule leaves to it.
  if (link.path) link.path.offerFrame(frameText(data, isBinary), data.length);
  else link.machine.send(frameEvent(data, isBinary, link.frameFacts()));
}
function onPong(this: WebSocket, payload: Buffer): void {
  (this as LinkSlot)[LINK]!.machine.send(pongEvent(payload));
}
function onError(this: WebSocket, error: Error & { code?: string }): void {
  (this as LinkSlot)[LINK]!.machine.send(errorEvent(error));
}
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as LinkSlot)[LINK]!.machine.send(closeEvent(code, reason));
}

/**
 * Links `ws` to its connection's machine and forwards its `message`, `pong`, `error` and
 * `close` events (frames to the data path when it has one, else to the machine). Call it
 * synchronously in the upgrade callback, before ws reads a frame. `stream`: the TCP socket
 * under `ws` (writes are batched on it). `makePath`: the connection's data path, built on the
 * link's ports; omitted for connections that keep the full actor path.
 */
export function linkConnection(
  ws: WebSocket,
  machine: LinkedMachine,
  server: ConnectionServer,
  stream: Duplex | undefined,
  makePath?: (ports: DataPathPorts) => DataPath,
): ConnectionLink {
  const link = new ConnectionLink(ws, machine, server, stream);
  if (makePath) link.path = makePath(link);
  (ws as LinkSlot)[LINK] = link;
  ws.on('message', onMessage);
  ws.on('pong', onPong);
  ws.on('error', onError);
  ws.on('close', onClose);
  return link;
}
