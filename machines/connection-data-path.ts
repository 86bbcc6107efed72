/**
 * The connection's data path: the steady case of two modes of the connection machine, moved
 * out of the actor so it costs no transition per event (DESIGN.md "Control plane and data
 * plane"). The machine installs each part on entry to its mode and removes it on exit:
 *
 * - `ready.flow.flowing` installs the **event path**: a stream event goes from the hub straight
 *   to the socket when it is the next seq and the socket is under the high-water mark;
 * - `ready` installs the **ack path**: a `message.accepted` answer is written as the ack when
 *   the socket is under `maxOutgoingBytes`;
 * - `ready` installs the **frame path**: a client frame that is a valid `message` within both
 *   rate limits, on a socket under `maxOutgoingBytes`, starts its run (the user's token spent,
 *   the handler invoked) with the counters of frame-counters.ts moved exactly as the machine
 *   moves them. Every other frame — ping, auth, anything refused — is the machine's.
 *
 * Everything else — the socket congested or over its hard bound, a seq that is not the next
 * one, any event while the part is not installed — goes to the machine as the very event it
 * would have received without a data path (a stream event carries the last seq the path
 * wrote), and the machine decides exactly as before. The decisions are the pure functions
 * below; the class only routes. No I/O here: the adapter supplies the ports.
 */
import { outgoingOverLimit, type SocketFacts } from './connection-bounds.js';
import type { ConnectionEvent, HandlerInvocation } from './connection.js';
import { rememberDecoded } from './frame-decoding.js';
import { ackFrameOf } from './ack-frame.js';
import { countersAfterMessage, messageRefusal, runIdOf, type FrameCounters, type MessageRateLimits } from './frame-counters.js';
import { decodeClientFrame, type DecodeResult } from '../src/protocol/codec.js';
import type { AckFrame, StreamEvent } from '../src/protocol/frames.js';

/** What the path does with one offer: write it itself, or hand it to the machine. */
export type PathDecision = 'write' | 'machine';

/** The bounds the path checks, from the machine's limits (it never decides past them). */
export interface DataPathLimits extends MessageRateLimits {
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

/** What the frame path does with one client frame: start its run itself, or hand it to the machine. */
export type FrameDecision = 'handle' | 'machine';

/**
 * The frame path's rule: only a valid `message` frame that both rate limits let through
 * (frame-counters.ts messageRefusal, the machine's own rule), on a socket under the hard bound.
 * Everything else — every other frame type, anything refused, an overfull socket — is the machine's.
 */
export function framePathDecision(decoded: DecodeResult, counters: FrameCounters, facts: SocketFacts, limits: DataPathLimits): FrameDecision {
  if (!decoded.ok || decoded.frame.type !== 'message') return 'machine';
  if (outgoingOverLimit(facts, limits.maxOutgoingBytes)) return 'machine';
  if (messageRefusal(counters, facts, limits) !== undefined) return 'machine';
  return 'handle';
}

/** A `message.accepted` answer: what the ack path and the machine both turn into an ack frame. */
export type MessageAccepted = Extract<ConnectionEvent, { type: 'message.accepted' }>;

export { ackFrameOf } from './ack-frame.js';

/** What the path needs from the adapter: the socket's facts and writes, and the actor. */
export interface DataPathPorts {
  /** The socket's send buffer now (ws `bufferedAmount`), read at each offer. */
  bufferedBytes(): number;
  /** Writes one event frame (the adapter encodes it once for every tab of the user). */
  writeEvent(event: StreamEvent): void;
  writeAck(frame: AckFrame): void;
  /** Hands an offer to the connection actor: the machine decides. */
  toMachine(event: ConnectionEvent): void;
  /** What the server knows as a frame arrives (send buffer, early bytes held server-wide, the user's tokens, the clock). */
  frameFacts(): Omit<SocketFacts, 'bytes'>;
  /** The machine's `spendUserToken` effect, for a message the path accepted. */
  spendUserToken(userId: string): void;
  /** The machine's `invokeHandler` effect, for a message the path accepted. */
  invokeHandler(invocation: HandlerInvocation): void;
}

/** What the machine gives the frame path on entry to `ready`. */
export interface FramePathStart {
  connectionId: string;
  userId: string;
  /** The counters as the machine left them (frame-counters.ts). */
  counters: FrameCounters;
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
  /** Entry of `ready`: steady `message` frames may start their runs here. */
  installFrames(start: FramePathStart): void;
  /** Exit of `ready`: every frame goes to the machine again. */
  removeFrames(): void;
  /** The machine handled a frame: the path continues from the counters it left. */
  syncFrames(counters: FrameCounters): void;
  /** One client frame from the socket (null: binary), of `bytes` on the wire. */
  offerFrame(data: string | null, bytes: number): void;
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
  /** The frame path's start while installed (its counters current unless a handed-over frame awaits the machine); undefined: not installed. */
  readonly frames: Readonly<FramePathStart> | undefined;
  /** True from handing a frame to the machine until the machine's counters came back. */
  readonly framesAwaitMachine: boolean;
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
  #frames: FramePathStart | undefined;
  #framesAwaitMachine = false;

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

  installFrames(start: FramePathStart): void {
    this.#frames = { ...start };
    this.#framesAwaitMachine = false;
  }

  removeFrames(): void {
    this.#frames = undefined;
  }

  syncFrames(counters: FrameCounters): void {
    if (this.#frames === undefined) return;
    this.#frames.counters = counters;
    this.#framesAwaitMachine = false;
  }

  get frames(): Readonly<FramePathStart> | undefined {
    return this.#frames;
  }

  get framesAwaitMachine(): boolean {
    return this.#framesAwaitMachine;
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

  /**
   * One client frame. A frame handed over while installed carries the path's counters, and
   * the path waits for the machine's (`syncFrames`) before it handles another: were the actor
   * busy, the next frame queues behind this one at the machine, so frames are handled in order.
   */
  offerFrame(data: string | null, bytes: number): void {
    const facts = this.#ports.frameFacts();
    const frames = this.#frames;
    if (frames === undefined || this.#framesAwaitMachine) {
      this.#ports.toMachine({ type: 'socket.frame', data, bytes, ...facts });
      return;
    }
    const decoded = decodeClientFrame(data);
    if (framePathDecision(decoded, frames.counters, facts, this.#limits) === 'handle' && decoded.ok && decoded.frame.type === 'message') {
      frames.counters = countersAfterMessage(frames.counters, facts.atMs, this.#limits);
      this.#ports.spendUserToken(frames.userId);
      this.#ports.invokeHandler({
        connectionId: frames.connectionId,
        userId: frames.userId,
        runId: runIdOf(frames.connectionId, frames.counters.runCount),
        message: decoded.frame,
      });
      return;
    }
    this.#framesAwaitMachine = true;
    const event = { type: 'socket.frame' as const, data, bytes, ...facts, counters: frames.counters };
    rememberDecoded(event, decoded);
    this.#ports.toMachine(event);
  }
}
