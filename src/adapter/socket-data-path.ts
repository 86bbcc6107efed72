/**
 * A connection's data path bound to its ws socket: the ports of connection-data-path.ts
 * (socket facts, writes, the actor). The rule of what is written lives there; this file
 * only connects it to ws and to the write batch.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ConnectionDataPath, type DataPathLimits } from '../../machines/connection-data-path.js';
import { ignoreWriteError } from './socket-effects.js';
import type { EventSink } from './socket-events.js';
import { encodeEventFrame, encodeServerFrame } from '../protocol/codec.js';
import type { WriteBatcher } from './write-batching.js';

/** The data path of `ws` (whose TCP socket is `stream`), handing what it does not write to `actor`. */
export function socketDataPath(ws: WebSocket, stream: Duplex, batcher: WriteBatcher, actor: EventSink, limits: DataPathLimits): ConnectionDataPath {
  return new ConnectionDataPath(
    {
      bufferedBytes: () => ws.bufferedAmount,
      writeEvent: (event) => {
        batcher.batch(stream);
        ws.send(encodeEventFrame(event), ignoreWriteError);
      },
      writeAck: (frame) => {
        batcher.batch(stream);
        ws.send(encodeServerFrame(frame), ignoreWriteError);
      },
      toMachine: (event) => actor.send(event),
    },
    limits,
  );
}
