/**
 * A user's event stream: every agent event gets the next `seq` of its user, within an
 * `epoch` that names the log instance (a new epoch means earlier seqs are meaningless).
 */
import { randomUUID } from 'node:crypto';
import type { AgentEventName, StreamEvent } from '../protocol/frames.js';
import type { MaybePromise } from './maybe-promise.js';

/** An agent event before the log numbers it. */
export interface NewStreamEvent { runId: string; event: AgentEventName; data: unknown; ts: number }

/**
 * Where a user's events are numbered and retained (for resume and catch-up). Pass your own
 * as `eventLog` to share it between servers; the default is {@link MemoryEventLog}.
 * Results may be promises (a shared log such as Redis); the in-memory log answers
 * synchronously. `epoch` is read at join time, so a shared log may change it (a Redis that
 * lost its data starts a new epoch).
 */
export interface EventLog {
  /** Names this log instance; a client resuming with another epoch gets `resumed:false`. */
  readonly epoch: string;
  /** Numbers `event` with the user's next seq and retains it. */
  append(userId: string, event: NewStreamEvent): MaybePromise<StreamEvent>;
  /** The user's last seq (0 before any event). */
  lastSeq(userId: string): MaybePromise<number>;
  /**
   * Every retained event with seq > `afterSeq`, in order; `undefined` when that is not the
   * complete list (some were dropped by retention, or `afterSeq` is beyond the stream).
   */
  readAfter(userId: string, afterSeq: number): MaybePromise<StreamEvent[] | undefined>;
  /**
   * Records that `messageId` started `runId`; returns the earlier run's id instead when the
   * user already sent that id inside retention (exactly-once client messages).
   */
  recordMessage(userId: string, messageId: string, runId: string): MaybePromise<string | undefined>;
}

/** Retention of {@link MemoryEventLog}: events beyond either bound age out (resume then says `gap`). */
export interface MemoryEventLogOptions {
  /** Events kept per user. Default 1000. */
  retainEvents?: number;
  /** How long an event is kept, in ms. Default 15 minutes. */
  retainMs?: number;
  /** Wall clock for age-based retention (tests inject one). Default Date.now. */
  now?: () => number;
}

interface UserStream {
  lastSeq: number;
  /** Retained events are `events[head..]`: dropping the oldest moves `head` (O(1)), see #trim. */
  events: StreamEvent[];
  head: number;
  /** Message id → run id and when it was accepted; insertion order is age order. */
  messages: Map<string, { runId: string; at: number }>;
}

/** The embedded default: per-user arrays bounded by count and age (invariant I8). */
export class MemoryEventLog implements EventLog {
  readonly epoch = randomUUID();
  readonly #retainEvents: number;
  readonly #retainMs: number;
  readonly #now: () => number;
  readonly #streams = new Map<string, UserStream>();

  constructor(options: MemoryEventLogOptions = {}) {
    this.#retainEvents = options.retainEvents ?? 1000;
    this.#retainMs = options.retainMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** {@inheritDoc EventLog.append} */
  append(userId: string, event: NewStreamEvent): StreamEvent {
    const stream = this.#stream(userId);
    const stored: StreamEvent = { seq: stream.lastSeq + 1, ...event };
    stream.lastSeq = stored.seq;
    stream.events.push(stored);
    this.#trim(stream);
    return stored;
  }

  /** {@inheritDoc EventLog.lastSeq} */
  lastSeq(userId: string): number {
    return this.#streams.get(userId)?.lastSeq ?? 0;
  }

  readAfter(userId: string, afterSeq: number): StreamEvent[] | undefined {
    const stream = this.#streams.get(userId);
    if (stream === undefined) return afterSeq === 0 ? [] : undefined;
    if (afterSeq > stream.lastSeq) return undefined;
    this.#trim(stream);
    const oldest = stream.events[stream.head]?.seq ?? stream.lastSeq + 1;
    if (afterSeq + 1 < oldest) return undefined;
    return stream.events.slice(stream.head + afterSeq + 1 - oldest);
  }

  recordMessage(userId: string, messageId: string, runId: string): string | undefined {
    const stream = this.#stream(userId);
    this.#trimMessages(stream);
    const seen = stream.messages.get(messageId);
    if (seen !== undefined) return seen.runId;
    stream.messages.set(messageId, { runId, at: this.#now() });
    return undefined;
  }

  #stream(userId: string): UserStream {
    let stream = this.#streams.get(userId);
    if (stream === undefined) {
      stream = { lastSeq: 0, events: [], head: 0, messages: new Map() };
      this.#streams.set(userId, stream);
    }
    return stream;
  }

  /** Message ids are retained like events: by count and by age. */
  #trimMessages(stream: UserStream): void {
    const cutoff = this.#now() - this.#retainMs;
    for (const [id, seen] of stream.messages) {
      if (stream.messages.size < this.#retainEvents && seen.at >= cutoff) break;
      stream.messages.delete(id);
    }
  }

  #trim(stream: UserStream): void {
    const cutoff = this.#now() - this.#retainMs;
    const { events } = stream;
    let head = Math.max(stream.head, events.length - this.#retainEvents);
    while (head < events.length && (events[head]?.ts ?? Infinity) < cutoff) head += 1;
    // Dropped events are no longer readable at once; their slots are compacted away once they
    // outnumber the retained ones. Amortised O(1) per append instead of shifting the whole
    // array on every append once the stream is full; memory stays under twice the bound (I8).
    stream.head = head;
    if (head > 0 && head >= events.length - head) {
      events.splice(0, head);
      stream.head = 0;
    }
  }
}
