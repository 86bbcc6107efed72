/**
 * The connection's data path: the steady case of two modes of the connection machine, moved
 * out of the actor so it costs no transition per event (DESIGN.md "Control plane and data
 * plane"). The machine installs each part on entry to its mode and removes it on exit:
 *
 * - `ready.flow.flowing` installs the **event path**: a stream event goes from the hub straight
 *   to the socket when it is the next seq and the socket is under the high-water mark;
 * - `ready` installs the **ack path**: a `message.accepted` answer is written as the ack when
 *   the socket is under `maxOutgoingBytes`.
 *
 * Everything else — the socket congested or over its hard bound, a seq that is not the next
 * one, any event while the part is not installed — goes to the machine as the very event it
 * would have received without a data path (a stream event carries the last seq the path
 * wrote), and the machine decides exactly as before. The decisions are the pure functions
 * below; the class only routes. No I/O here: the adapter supplies the ports.
 */
import { outgoingOverLimit } from './connection-bounds.js';
import type { ConnectionEvent } from './connection.js';
import type { AckFrame, StreamEvent } from '../src/protocol/frames.js';

/** What the path does with one offer: write it itself, or hand it to the machine. */
export type PathDecision = 'write' | 'machine';

/** The bounds the path checks, from the machine's limits (it never decides past them). */
export interface DataPathLimits {
  highWaterMarkBytes: number;
  maxOutgoingBytes: number;
}

/**
 * The event path's rule: write only the next seq (`lastSeq + 1`), only below the high-water
 * mark and the hard bound. Congestion, overflow and any seq out of line are the machine's.
 */
export function eventPathDecision(lastSeq: number, seq: number, bufferedBytes: number, limits: DataPathLimits): PathDecision {
  if (seq !== lastSeq + 1) return 'machine';
  if (bufferedBytes >= limits.highWaterMarkBytes) return 'machine';
  if (outgoingOverLimit({ bufferedBytes }, limits.maxOutgoingBytes)) return 'machine';
  return 'write';
}

/** The ack path's rule: write the ack unless the socket holds `maxOutgoingBytes` (the machine then terminates). */
export function ackPathDecision(bufferedBytes: number, limits: DataPathLimits): PathDecision {
  return outgoingOverLimit({ bufferedBytes }, limits.maxOutgoingBytes) ? 'machine' : 'write';
}

/** A `message.accepted` answer: what the ack path and the machine both turn into an ack frame. */
export type MessageAccepted = Extract<ConnectionEvent, { type: 'message.accepted' }>;

/** The ack frame for an accepted message (shared by the machine and the ack path). */
export function ackFrameOf(accepted: Pick<MessageAccepted, 'id' | 'runId' | 'duplicate'>): AckFrame {
  return accepted.duplicate
    ? { type: 'ack', id: accepted.id, runId: accepted.runId, duplicate: true }
    : { type: 'ack', id: accepted.id, runId: accepted.runId };
}

/** What the path needs from the adapter: the socket's facts and writes, and the actor. */
export interface DataPathPorts {
  /** The socket's send buffer now (ws `bufferedAmount`), read at each offer. */
  bufferedBytes(): number;
  /** Writes one event frame (the adapter encodes it once for every tab of the user). */
  writeEvent(event: StreamEvent): void;
  writeAck(frame: AckFrame): void;
  /** Hands an offer to the connection actor: the machine decides. */
  toMachine(event: ConnectionEvent): void;
}

/** What the adapter (and the scenario harness) calls on a connection's data path. */
export interface DataPath {
  /** Entry of `ready.flow.flowing`: events after `lastSeq` may go straight to the socket. */
  installEvents(lastSeq: number): void;
  /** Exit of `ready.flow.flowing`: every event goes to the machine again. */
  removeEvents(): void;
  /** Entry of `ready`. */
  installAcks(): void;
  /** Exit of `ready`. */
  removeAcks(): void;
  /** The machine wrote an event itself (replay, catch-up, one handed over): the path goes on after it. */
  machineWroteEvent(seq: number): void;
  /** One event of the user's stream, from the hub. */
  offerEvent(event: StreamEvent): void;
  /** The message recorder's answer to an accepted `message` frame (a new run or a duplicate). */
  offerAccepted(accepted: Omit<MessageAccepted, 'type' | 'bufferedBytes'>): void;
  /** Seq of the last event written on this connection, by the path or by the machine. */
  readonly lastSeq: number;
  /** True between `installEvents` and `removeEvents`. */
  readonly eventsInstalled: boolean;
  /** True between `installAcks` and `removeAcks`. */
  readonly acksInstalled: boolean;
}

/** Builds a connection's data path from its ports (the scenario harness swaps in broken ones). */
export type DataPathFactory = (ports: DataPathPorts, limits: DataPathLimits) => DataPath;

/** One connection's data path: installed and removed by the machine's effects, fed by the hub and the message recorder. */
export class ConnectionDataPath implements DataPath {
  readonly #ports: DataPathPorts;
  readonly #limits: DataPathLimits;
  #eventsInstalled = false;
  #acksInstalled = false;
  /** Seq of the last event written on this connection, by the path or by the machine. */
  #lastSeq = 0;

  constructor(ports: DataPathPorts, limits: DataPathLimits) {
    this.#ports = ports;
    this.#limits = limits;
  }

  /** Entry of `ready.flow.flowing`: events after `lastSeq` may go straight to the socket. */
  installEvents(lastSeq: number): void {
    this.#eventsInstalled = true;
    this.#lastSeq = lastSeq;
  }

  /** Exit of `ready.flow.flowing`: every event goes to the machine again. */
  removeEvents(): void {
    this.#eventsInstalled = false;
  }

  installAcks(): void {
    this.#acksInstalled = true;
  }

  removeAcks(): void {
    this.#acksInstalled = false;
  }

  get eventsInstalled(): boolean {
    return this.#eventsInstalled;
  }

  get acksInstalled(): boolean {
    return this.#acksInstalled;
  }

  /** Seq of the last event written (meaningful while the event path is installed). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The machine wrote an event itself (while flowing, an event handed to it): the path continues after it. */
  machineWroteEvent(seq: number): void {
    if (seq > this.#lastSeq) this.#lastSeq = seq;
  }

  /** One event of the user's stream, from the hub (next seq, in order). */
  offerEvent(event: StreamEvent): void {
    const bufferedBytes = this.#ports.bufferedBytes();
    if (this.#eventsInstalled && eventPathDecision(this.#lastSeq, event.seq, bufferedBytes, this.#limits) === 'write') {
      this.#lastSeq = event.seq;
      this.#ports.writeEvent(event);
      return;
    }
    this.#ports.toMachine({
      type: 'stream.event',
      event,
      bufferedBytes,
      ...(this.#eventsInstalled ? { writtenSeq: this.#lastSeq } : {}),
    });
  }

  /** The recorder's answer to an accepted `message` frame (a new run or a duplicate). */
  offerAccepted(accepted: Omit<MessageAccepted, 'type' | 'bufferedBytes'>): void {
    const bufferedBytes = this.#ports.bufferedBytes();
    if (this.#acksInstalled && ackPathDecision(bufferedBytes, this.#limits) === 'write') {
      this.#ports.writeAck(ackFrameOf(accepted));
      return;
    }
    this.#ports.toMachine({ type: 'message.accepted', ...accepted, bufferedBytes });
  }
}
