/**
 * A connection's data path bound to its ws socket: the ports of connection-data-path.ts
 * (socket facts, writes, the actor). The rule of what is written lives there; this file
 * only connects it to ws and to the write batch.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ConnectionDataPath, type DataPathLimits, type DataPathPorts } from '../../machines/connection-data-path.js';
import { ignoreWriteError } from './socket-effects.js';
import type { EventSink } from './socket-events.js';
import { encodeEventFrame, encodeServerFrame } from '../protocol/codec.js';
import type { WriteBatcher } from './write-batching.js';

/** What the server does for a message the frame path accepted: the machine's effects of the same name, and the frame's facts. */
export type FramePathServer = Pick<DataPathPorts, 'frameFacts' | 'spendUserToken' | 'invokeHandler'>;

/** The data path of `ws` (whose TCP socket is `stream`), handing what it does not write to `actor`. */
export function socketDataPath(ws: WebSocket, stream: Duplex, batcher: WriteBatcher, actor: EventSink, server: FramePathServer, limits: DataPathLimits): ConnectionDataPath {
  return new ConnectionDataPath(
    {
      ...server,
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
