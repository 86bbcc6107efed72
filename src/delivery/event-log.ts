/**
 * A user's event stream: every agent event gets the next `seq` of its user, within an
 * `epoch` that names the log instance (a new epoch means earlier seqs are meaningless).
 */
import { eventJson } from '../protocol/codec.js';
import { randomUUID } from 'node:crypto';
import type { AgentEventName, StreamEvent } from '../protocol/frames.js';
import type { MaybePromise } from './maybe-promise.js';
import { LockstepError } from '../protocol/errors.js';
import { DELTA_CHUNK_MAX_BYTES, DELTA_CHUNK_MAX_DELTAS, deltaData, deltaKey, type DeltaData } from './delta-coalescing.js';

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
   * Every retained event with seq > `afterSeq`, in order, one per seq (a log that stores
   * deltas coalesced hands them back one by one; the hub coalesces what it hands a resuming or
   * catching-up connection); `undefined` when that is not the complete list (some were dropped
   * by retention, or `afterSeq` is beyond the stream).
   */
  readAfter(userId: string, afterSeq: number): MaybePromise<StreamEvent[] | undefined>;
  /**
   * Records that `messageId` started `runId`; returns the earlier run's id instead when the
   * user already sent that id inside retention (exactly-once client messages).
   */
  recordMessage(userId: string, messageId: string, runId: string): MaybePromise<string | undefined>;
}

/**
 * Retention of {@link MemoryEventLog}: an event is dropped as soon as any bound says so
 * (resume from before it then says `gap`, never a silent gap). Every bound is a positive
 * integer (otherwise `LOCKSTEP_ERR_INVALID_OPTION`). Consecutive deltas of one run and kind
 * are stored as one entry (up to 1024 deltas and 16 Ki characters each), so a streamed answer
 * counts as a few entries and its bytes, not as one event per delta.
 */
export interface MemoryEventLogOptions {
  /** Entries kept per user: each event, except that a chunk of consecutive deltas is one. Default 1000. */
  retainEvents?: number;
  /** How long an event is kept, in ms. Default 15 minutes. */
  retainMs?: number;
  /**
   * Bytes of events kept per user, measured as the JSON length of each stored event.
   * Default 8 MiB. An event larger than this alone is still delivered live and appended,
   * and then evicts every older event of its user (it is retained alone until the next one).
   */
  retainBytesPerUser?: number;
  /**
   * Bytes of events kept across all users (same measure). Default 256 MiB. Over it, the
   * oldest events of any user are evicted first; the event just appended is always kept.
   */
  retainBytesTotal?: number;
  /** Message ids remembered per user for exactly-once (see recordMessage). Default: retainEvents. */
  retainMessageIds?: number;
  /**
   * Bytes of message ids remembered per user: the length of message id + run id per entry.
   * Default 256 KiB. Beyond either message bound the oldest ids are forgotten.
   */
  retainMessageBytesPerUser?: number;
  /** Wall clock for age-based retention (tests inject one). Default Date.now. */
  now?: () => number;
}

/**
 * Consecutive deltas of one run and kind stored as one entry: `seq..lastSeq`, the first delta
 * being the entry's `event`. Extended in place while it is its user's newest entry.
 */
interface DeltaChunk {
  key: string;
  deltas: string[];
  chars: number;
  lastSeq: number;
  /** Each delta's ts (the chunk ages from its newest delta's). */
  tss: number[];
}

/** One retained entry (an event, or a chunk of deltas), linked into the log-wide age order (oldest first) for the total bound. */
interface Retained {
  event: StreamEvent;
  chunk: DeltaChunk | undefined;
  bytes: number;
  stream: UserStream;
  older: Retained | undefined;
  newer: Retained | undefined;
}

interface UserStream {
  lastSeq: number;
  /** Retained events are `events[head..]`: dropping the oldest moves `head` (O(1)), see #compact. */
  events: Retained[];
  head: number;
  /** Sum of `bytes` of the retained events. */
  bytes: number;
  /** Message id → run id and when it was accepted; insertion order is age order. */
  messages: Map<string, { runId: string; at: number; bytes: number }>;
  messageBytes: number;
}

const MiB = 1024 * 1024;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', `MemoryEventLog option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** The embedded default: per-user streams bounded by count, age and bytes, and bytes in total (invariant I8). */
export class MemoryEventLog implements EventLog {
  readonly epoch = randomUUID();
  readonly #retainEvents: number;
  readonly #retainMs: number;
  readonly #retainBytesPerUser: number;
  readonly #retainBytesTotal: number;
  readonly #retainMessageIds: number;
  readonly #retainMessageBytes: number;
  readonly #now: () => number;
  readonly #streams = new Map<string, UserStream>();
  /** Oldest and newest retained event across all users, and the bytes of all retained events. */
  #oldest: Retained | undefined;
  #newest: Retained | undefined;
  #totalBytes = 0;

  constructor(options: MemoryEventLogOptions = {}) {
    // retainEvents/retainMs keep their historical leniency (any number); the byte bounds are new and validated.
    this.#retainEvents = options.retainEvents ?? 1000;
    this.#retainMs = options.retainMs ?? 15 * 60_000;
    this.#retainBytesPerUser = positiveInteger('retainBytesPerUser', options.retainBytesPerUser, 8 * MiB);
    this.#retainBytesTotal = positiveInteger('retainBytesTotal', options.retainBytesTotal, 256 * MiB);
    // Ids default to the event count bound (their historical bound).
    this.#retainMessageIds = positiveInteger('retainMessageIds', options.retainMessageIds, this.#retainEvents);
    this.#retainMessageBytes = positiveInteger('retainMessageBytesPerUser', options.retainMessageBytesPerUser, 256 * 1024);
    this.#now = options.now ?? Date.now;
  }

  /** Bytes of all retained events (JSON length), for tests and metrics. */
  get retainedBytes(): number {
    return this.#totalBytes;
  }

  /** {@inheritDoc EventLog.append} */
  append(userId: string, event: NewStreamEvent): StreamEvent {
    const stream = this.#stream(userId);
    const stored: StreamEvent = { seq: stream.lastSeq + 1, ...event };
    stream.lastSeq = stored.seq;
    const key = deltaKey(event);
    const node = (key !== undefined && this.#extendChunk(stream, key, stored)) || this.#appendEntry(stream, stored, key);
    this.#trim(stream);
    // The total bound evicts the oldest entries of any user; the new entry itself always stays.
    while (this.#totalBytes > this.#retainBytesTotal && this.#oldest !== undefined && this.#oldest !== node) {
      this.#dropOldest(this.#oldest.stream);
    }
    return stored;
  }

  #appendEntry(stream: UserStream, stored: StreamEvent, key: string | undefined): Retained {
    const delta = key === undefined ? undefined : (stored.data as DeltaData).delta;
    const chunk = delta === undefined || key === undefined ? undefined : { key, deltas: [delta], chars: delta.length, lastSeq: stored.seq, tss: [stored.ts] };
    const node: Retained = { event: stored, chunk, bytes: eventJson(stored).length, stream, older: undefined, newer: undefined };
    this.#linkNewest(node);
    stream.events.push(node);
    stream.bytes += node.bytes;
    this.#totalBytes += node.bytes;
    return node;
  }

  /** Adds a delta to the user's newest entry when it is a chunk of the same run and kind with room left. */
  #extendChunk(stream: UserStream, key: string, stored: StreamEvent): Retained | undefined {
    const newest = stream.events.length > stream.head ? stream.events[stream.events.length - 1] : undefined;
    const chunk = newest?.chunk;
    const delta = (stored.data as DeltaData).delta;
    if (newest === undefined || chunk === undefined || chunk.key !== key || chunk.lastSeq !== stored.seq - 1) return undefined;
    if (chunk.deltas.length >= DELTA_CHUNK_MAX_DELTAS || chunk.chars + delta.length > DELTA_CHUNK_MAX_BYTES) return undefined;
    chunk.deltas.push(delta);
    chunk.chars += delta.length;
    chunk.lastSeq = stored.seq;
    chunk.tss.push(stored.ts);
    // Its JSON-escaped length, plus a few bytes for its boundary and its ts (a chunk keeps every delta apart).
    const bytes = JSON.stringify(delta).length + 4;
    newest.bytes += bytes;
    stream.bytes += bytes;
    this.#totalBytes += bytes;
    // Extended now: the newest in age too.
    this.#unlink(newest);
    this.#linkNewest(newest);
    return newest;
  }

  #linkNewest(node: Retained): void {
    node.older = this.#newest;
    node.newer = undefined;
    if (this.#newest) this.#newest.newer = node;
    else this.#oldest = node;
    this.#newest = node;
  }

  #unlink(node: Retained): void {
    if (node.older) node.older.newer = node.newer;
    else this.#oldest = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.#newest = node.older;
    node.older = node.newer = undefined;
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
    const { events } = stream;
    const oldest = events[stream.head]?.event.seq ?? stream.lastSeq + 1;
    if (afterSeq + 1 < oldest) return undefined;
    // The first entry whose last seq is past afterSeq (entries are in seq order).
    let low = stream.head;
    let high = events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (lastSeqOf(events[middle] as Retained) <= afterSeq) low = middle + 1;
      else high = middle;
    }
    const out: StreamEvent[] = [];
    for (let i = low; i < events.length; i++) expandInto(out, events[i] as Retained, afterSeq);
    return out;
  }

  /**
   * Records that `messageId` of `userId` started `runId`; returns the original run id when the
   * id was seen before. Ids are remembered per user by count, bytes and age; once an id is
   * forgotten, a resend of it is a new message (the limit of exactly-once, like retention's
   * limit of resume).
   */
  recordMessage(userId: string, messageId: string, runId: string): string | undefined {
    const stream = this.#stream(userId);
    this.#trimMessages(stream, 0);
    const seen = stream.messages.get(messageId);
    if (seen !== undefined) return seen.runId;
    const bytes = messageId.length + runId.length;
    this.#trimMessages(stream, bytes);
    stream.messages.set(messageId, { runId, at: this.#now(), bytes });
    stream.messageBytes += bytes;
    return undefined;
  }

  #stream(userId: string): UserStream {
    let stream = this.#streams.get(userId);
    if (stream === undefined) {
      stream = { lastSeq: 0, events: [], head: 0, bytes: 0, messages: new Map(), messageBytes: 0 };
      this.#streams.set(userId, stream);
    }
    return stream;
  }

  /** Forgets the oldest ids until `incoming` more bytes (one more id) fit, and ids past retainMs. */
  #trimMessages(stream: UserStream, incoming: number): void {
    const cutoff = this.#now() - this.#retainMs;
    const room = incoming > 0 ? 1 : 0;
    for (const [id, seen] of stream.messages) {
      const overCount = stream.messages.size + room > this.#retainMessageIds;
      const overBytes = stream.messageBytes + incoming > this.#retainMessageBytes;
      if (!overCount && !overBytes && seen.at >= cutoff) break;
      stream.messages.delete(id);
      stream.messageBytes -= seen.bytes;
    }
  }

  /** Drops the user's oldest events beyond count, age or bytes; the newest one always stays for bytes. */
  #trim(stream: UserStream): void {
    const cutoff = this.#now() - this.#retainMs;
    const { events } = stream;
    while (stream.head < events.length) {
      const retained = events.length - stream.head;
      const oldest = events[stream.head] as Retained;
      const over = retained > this.#retainEvents || (oldest.chunk?.tss.at(-1) ?? oldest.event.ts) < cutoff || (stream.bytes > this.#retainBytesPerUser && retained > 1);
      if (!over) break;
      this.#dropOldest(stream);
    }
  }

  /** Drops `stream`'s oldest retained event (always its head: per-user order is log order). */
  #dropOldest(stream: UserStream): void {
    const node = stream.events[stream.head] as Retained;
    stream.events[stream.head] = undefined as unknown as Retained; // release the event now
    stream.head += 1;
    stream.bytes -= node.bytes;
    this.#totalBytes -= node.bytes;
    this.#unlink(node);
    this.#compact(stream);
  }

  // Dropped slots are compacted away once they outnumber the retained ones. Amortised O(1) per
  // append instead of shifting the whole array on every append; slots stay under twice the bound (I8).
  #compact(stream: UserStream): void {
    const { events, head } = stream;
    if (head > 0 && head >= events.length - head) {
      events.splice(0, head);
      stream.head = 0;
    }
  }
}

function lastSeqOf(node: Retained): number {
  return node.chunk?.lastSeq ?? node.event.seq;
}

/** Appends the events of `node` with seq > afterSeq to `out`: a chunk one event per delta, each exactly as appended. */
function expandInto(out: StreamEvent[], node: Retained, afterSeq: number): void {
  const { chunk, event } = node;
  if (chunk === undefined) {
    if (event.seq > afterSeq) out.push(event);
    return;
  }
  const first = event.data as DeltaData;
  for (let i = Math.max(0, afterSeq + 1 - event.seq); i < chunk.deltas.length; i++) {
    const seq = event.seq + i;
    out.push(i === 0
      ? event
      : { seq, runId: event.runId, event: event.event, data: deltaData(first, chunk.deltas[i] as string), ts: chunk.tss[i] as number });
  }
}
