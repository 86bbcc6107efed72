/**
 * A user's event stream: every agent event gets the next `seq` of its user, within an
 * `epoch` that names the log instance (a new epoch means earlier seqs are meaningless).
 */
import { randomUUID } from 'node:crypto';
import type { AgentEventName, StreamEvent } from '../protocol/frames.js';

export interface NewStreamEvent { runId: string; event: AgentEventName; data: unknown; ts: number }

export interface EventLog {
  readonly epoch: string;
  append(userId: string, event: NewStreamEvent): StreamEvent;
  lastSeq(userId: string): number;
}

export interface MemoryEventLogOptions {
  /** Events kept per user (older ones are dropped). Default 1000. */
  retainEvents?: number;
}

/** The embedded default: per-user arrays bounded by `retainEvents` (invariant I8). */
export class MemoryEventLog implements EventLog {
  readonly epoch = randomUUID();
  readonly #retain: number;
  readonly #streams = new Map<string, { lastSeq: number; events: StreamEvent[] }>();

  constructor(options: MemoryEventLogOptions = {}) {
    this.#retain = options.retainEvents ?? 1000;
  }

  append(userId: string, event: NewStreamEvent): StreamEvent {
    let stream = this.#streams.get(userId);
    if (stream === undefined) {
      stream = { lastSeq: 0, events: [] };
      this.#streams.set(userId, stream);
    }
    const stored: StreamEvent = { seq: stream.lastSeq + 1, ...event };
    stream.lastSeq = stored.seq;
    stream.events.push(stored);
    if (stream.events.length > this.#retain) stream.events.splice(0, stream.events.length - this.#retain);
    return stored;
  }

  lastSeq(userId: string): number {
    return this.#streams.get(userId)?.lastSeq ?? 0;
  }
}
