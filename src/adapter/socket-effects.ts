/**
 * Connection actor effects → ws calls. Built once per server; each effect finds its socket
 * through the actor that runs it (`self`), so the machine is provided once, not per socket.
 */
import type { Duplex } from 'node:stream';
import type { AnyActorRef } from 'xstate';
import type { WebSocket } from 'ws';
import { encodeServerFrame } from '../protocol/codec.js';
import type { ServerFrame } from '../protocol/frames.js';
import { WriteBatcher } from './write-batching.js';

export class SocketTable {
  /** One batcher per server: see write-batching.ts. */
  readonly batcher = new WriteBatcher();
  readonly #sockets = new WeakMap<AnyActorRef, WebSocket>();
  readonly #streams = new WeakMap<AnyActorRef, Duplex>();
  /**
   * `stream`: the TCP socket under `ws` (the upgrade's socket). When given, frames written in
   * one event-loop turn are coalesced into one write (see write-batching.ts).
   */
  bind(actor: AnyActorRef, ws: WebSocket, stream?: Duplex): void {
    this.#sockets.set(actor, ws);
    if (stream) this.#streams.set(actor, stream);
  }
  socketOf(actor: AnyActorRef): WebSocket | undefined {
    return this.#sockets.get(actor);
  }
  streamOf(actor: AnyActorRef): Duplex | undefined {
    return this.#streams.get(actor);
  }
}

type EffectArgs = { self: AnyActorRef };

// ws reports a failed write through the callback; the `close` event that follows is what
// the machine reacts to, so the callback only keeps the error from becoming an exception.
const ignoreWriteError = (): void => {};

export function socketEffects(table: SocketTable) {
  const { batcher } = table;
  return {
    sendFrame: ({ self }: EffectArgs, params: { frame: ServerFrame }) => {
      const ws = table.socketOf(self);
      if (!ws) return;
      const stream = table.streamOf(self);
      if (stream) batcher.batch(stream);
      ws.send(encodeServerFrame(params.frame), ignoreWriteError);
    },
    closeSocket: ({ self }: EffectArgs, params: { code: number; reason: string }) => {
      table.socketOf(self)?.close(params.code, params.reason);
    },
    terminateSocket: ({ self }: EffectArgs) => {
      table.socketOf(self)?.terminate();
    },
    // A ping's write callback runs once every frame buffered before it is flushed: the drain.
    watchDrain: ({ self }: EffectArgs) => {
      table.socketOf(self)?.ping(undefined, undefined, (error?: Error) => {
        if (!error) self.send({ type: 'socket.drain' });
      });
    },
    ping: ({ self }: EffectArgs) => {
      table.socketOf(self)?.ping(undefined, undefined, ignoreWriteError);
    },
  };
}
