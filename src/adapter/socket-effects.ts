/**
 * Connection actor effects → ws calls. Built once per server; each effect finds its socket
 * through the actor that runs it (`self`), so the machine is provided once, not per socket.
 */
import type { Duplex } from 'node:stream';
import type { AnyActorRef } from 'xstate';

/** The `self` of a connection's effects: an Actor, or the MachineRunner that stands for one. */
export type ConnectionSelf = Pick<AnyActorRef, 'send' | 'getSnapshot'>;
import type { WebSocket } from 'ws';
import { encodeServerFrame } from '../protocol/codec.js';
import type { ServerFrame } from '../protocol/frames.js';
import type { DataPath, FramePathStart } from '../../machines/connection-data-path.js';
import type { FrameCounters } from '../../machines/frame-counters.js';
import { WriteBatcher } from './write-batching.js';

/**
 * What the adapter holds of one connection: its ws socket, the TCP socket under it (when
 * writes are batched) and its data path (none for traced or inspected connections). The
 * server's ConnectionLink is one (adapter/connection-link.ts); `SocketTable.bind` makes one for a plain ws.
 */
export interface SocketBinding {
  readonly socket: WebSocket;
  readonly stream: Duplex | undefined;
  readonly path: DataPath | undefined;
}

/** Which ws socket belongs to which connection actor (weakly held: a closed actor frees it). */
export class SocketTable {
  /** @internal One batcher per server: see write-batching.ts. */
  readonly batcher = new WriteBatcher();
  // One entry per connection: an idle connection's heap counts every map entry.
  readonly #bindings = new WeakMap<ConnectionSelf, SocketBinding>();
  /**
   * Associates `ws` with the actor that runs its protocol. `stream`: the TCP socket under `ws`
   * (the upgrade's socket); when given, frames written in one event-loop turn are coalesced
   * into one write (see write-batching.ts). `path`: the connection's data path; its
   * install/remove effects then switch it on and off.
   */
  bind(actor: ConnectionSelf, ws: WebSocket, stream?: Duplex, path?: DataPath): void {
    this.#bindings.set(actor, { socket: ws, stream, path });
  }
  /** Gives `actor`'s socket a data path: its install/remove effects then switch it on and off. */
  bindPath(actor: ConnectionSelf, path: DataPath): void {
    const bound = this.#bindings.get(actor);
    if (bound) this.#bindings.set(actor, { socket: bound.socket, stream: bound.stream, path });
  }
  /** Associates a binding that holds its socket, stream and path itself (the server's ConnectionLink). */
  bindSocket(actor: ConnectionSelf, binding: SocketBinding): void {
    this.#bindings.set(actor, binding);
  }
  /** The actor's data path; undefined for connections that keep the full actor path (traced, inspected). */
  pathOf(actor: ConnectionSelf): DataPath | undefined {
    return this.#bindings.get(actor)?.path;
  }
  /** The socket of `actor`, or undefined once it is gone. */
  socketOf(actor: ConnectionSelf): WebSocket | undefined {
    return this.#bindings.get(actor)?.socket;
  }
  /** The TCP socket under the actor's ws, when it was bound with one. */
  streamOf(actor: ConnectionSelf): Duplex | undefined {
    return this.#bindings.get(actor)?.stream;
  }
  /** Everything bound to `actor` (one lookup for effects that need socket, stream and path). */
  bindingOf(actor: ConnectionSelf): SocketBinding | undefined {
    return this.#bindings.get(actor);
  }
}

/** What every socket effect receives from xstate: the actor that runs it. */
export type SocketEffectArgs = { self: ConnectionSelf };

// Writes pass no callback: ws then reports a failed write as the socket's `error` and `close`
// (which the machine reacts to), and a write after close is dropped without an Error object —
// a callback per write would only cost the stream's per-write bookkeeping.

/**
 * The connection machine's socket effects (`sendFrame`, `closeSocket`, `terminateSocket`,
 * `watchDrain`, `ping`) and the data path's install/remove effects, implemented with ws, for
 * `connectionMachine.provide({ actions })`.
 */
export function socketEffects(table: SocketTable) {
  const { batcher } = table;
  return {
    /** Writes one frame (coalesced with the turn's other frames); a failed write surfaces as the socket's `close` event. */
    sendFrame: ({ self }: SocketEffectArgs, params: { frame: ServerFrame }) => {
      const bound = table.bindingOf(self);
      if (!bound) return;
      if (bound.stream) batcher.batch(bound.stream);
      bound.socket.send(encodeServerFrame(params.frame));
      // The machine wrote an event itself (replay, catch-up, one handed over): the path goes on after it.
      if (params.frame.type === 'event') bound.path?.machineWroteEvent(params.frame.seq);
    },
    installEventPath: ({ self }: SocketEffectArgs, params: { lastSeq: number }) => table.pathOf(self)?.installEvents(params.lastSeq),
    removeEventPath: ({ self }: SocketEffectArgs) => table.pathOf(self)?.removeEvents(),
    installAckPath: ({ self }: SocketEffectArgs) => table.pathOf(self)?.installAcks(),
    removeAckPath: ({ self }: SocketEffectArgs) => table.pathOf(self)?.removeAcks(),
    installFramePath: ({ self }: SocketEffectArgs, params: FramePathStart) => table.pathOf(self)?.installFrames(params),
    removeFramePath: ({ self }: SocketEffectArgs) => table.pathOf(self)?.removeFrames(),
    syncFramePath: ({ self }: SocketEffectArgs, params: { counters: FrameCounters }) => table.pathOf(self)?.syncFrames(params.counters),
    /** Starts the closing handshake with the machine's code and reason. */
    closeSocket: ({ self }: SocketEffectArgs, params: { code: number; reason: string }) => {
      table.socketOf(self)?.close(params.code, params.reason);
    },
    /** Destroys the socket (no pong, or the peer never answered the close). */
    terminateSocket: ({ self }: SocketEffectArgs) => {
      table.socketOf(self)?.terminate();
    },
    /** Sends `socket.drain` once every frame buffered so far is flushed (a ping's write callback runs then). */
    watchDrain: ({ self }: SocketEffectArgs) => {
      table.socketOf(self)?.ping(undefined, undefined, (error?: Error) => {
        if (!error) self.send({ type: 'socket.drain' });
      });
    },
    /** A heartbeat ping carrying the machine's nonce; the pong comes back as `socket.pong` with it. */
    ping: ({ self }: SocketEffectArgs, params: { payload: string }) => {
      table.socketOf(self)?.ping(params.payload);
    },
  };
}
