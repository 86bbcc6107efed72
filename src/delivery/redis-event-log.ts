/**
 * The shared `EventLog` on Redis: one Redis Stream per user (entry id `<seq>-1`, trimmed to
 * `retainEvents` entries and `retainBytesPerUser` bytes), a counter per user for seqs, the epoch
 * in one key every node reads, message ids per user (bounded in count and bytes, and across
 * users in count) with a TTL. Appends, reads and lease changes are Lua scripts (redis-scripts.ts),
 * each atomic. Every method answers with a promise; while Redis is unreachable the client
 * queues commands in order and sends them when it returns.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EventLog, NewStreamEvent } from './event-log.js';
import { RedisKeys } from './redis-keys.js';
import { APPEND, READ_AFTER, RECORD_MESSAGE, RENEW_LEASES, SWEEP_EXPIRED } from './redis-scripts.js';
import type { AgentEventName, StreamEvent } from '../protocol/frames.js';
import { DELTA_CHUNK_MAX_BYTES, DELTA_CHUNK_MAX_DELTAS, deltaData, deltaKey, type DeltaData } from './delta-coalescing.js';
import { LockstepError } from '../protocol/errors.js';

/** Options of `RedisEventLog`: retention and key prefix. */
export interface RedisEventLogOptions {
  /** Key prefix, so several deployments can share one Redis. Default `lockstep:`. */
  prefix?: string;
  /**
   * Entries kept per user (the stream is trimmed to this many entries). Each event is one,
   * except that consecutive deltas of one run and kind share one entry (a chunk of up to 1024
   * deltas and 16 KiB of text). Default 1000.
   */
  retainEvents?: number;
  /** How long events and message ids are kept, in ms. Default 15 minutes. */
  retainMs?: number;
  /**
   * Bytes of events kept per user: the UTF-8 length of each event's JSON as stored in the
   * stream. Default 8 MiB (as `MemoryEventLog`). The oldest events go first, in the same atomic
   * step as the append; an event larger than this alone is still appended and kept alone.
   */
  retainBytesPerUser?: number;
  /** Message ids remembered per user for exactly-once. Default: retainEvents. */
  retainMessageIds?: number;
  /** Bytes of message ids remembered per user (message id + run id per entry). Default 256 KiB. */
  retainMessageBytesPerUser?: number;
  /**
   * Message ids remembered across all users. Default 100 000. Over it, the oldest ids of any
   * user are forgotten first (a resend of a forgotten id is a new message).
   */
  retainMessageIdsTotal?: number;
  /** How long a run's lease lasts without renewal, in ms. Default 10000. */
  leaseMs?: number;
  /** Wall clock for age-based retention of reads. Default Date.now. */
  now?: () => number;
}

type Entry = [id: string, fields: string[]];

interface ScriptCommands {
  lockstepAppend(...args: Array<string | number>): Promise<[number, string]>;
  lockstepReadAfter(seqKey: string, streamKey: string, epochKey: string, fromSeq: number, epochCandidate: string): Promise<[number, Entry[], string]>;
  lockstepRecordMessage(...args: Array<string | number>): Promise<string | null>;
  lockstepRenewLeases(leasesKey: string, leaseMs: number, ...members: string[]): Promise<string[]>;
  lockstepSweepExpired(leasesKey: string, prefix: string, maxlen: number, retainMs: number, maxBytes: number): Promise<number>;
}

const MiB = 1024 * 1024;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', `RedisEventLog option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
const ENDS_RUN: ReadonlySet<AgentEventName> = new Set(['agent_completed', 'agent_error']);

/** A run started on this node and not ended yet: its lease is renewed from here. */
interface OwnRun { member: string; appends: number }

/** An EventLog in Redis Streams: one stream per user, exact retention, the epoch shared by every node, message-id dedup across nodes. */
export class RedisEventLog implements EventLog {
  /** @internal Key names under the configured prefix. */
  readonly keys: RedisKeys;
  readonly retainEvents: number;
  readonly retainMs: number;
  readonly leaseMs: number;
  readonly retainBytesPerUser: number;
  readonly retainMessageIds: number;
  readonly retainMessageBytesPerUser: number;
  readonly retainMessageIdsTotal: number;
  readonly #redis: Redis & ScriptCommands;
  readonly #now: () => number;
  readonly #ownRuns = new Map<string, OwnRun>();
  #epoch = '';

  constructor(redis: Redis, options: RedisEventLogOptions = {}) {
    this.keys = new RedisKeys(options.prefix ?? 'lockstep:');
    this.retainEvents = options.retainEvents ?? 1000;
    this.retainMs = options.retainMs ?? 15 * 60_000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.retainBytesPerUser = positiveInteger('retainBytesPerUser', options.retainBytesPerUser, 8 * MiB);
    this.retainMessageIds = positiveInteger('retainMessageIds', options.retainMessageIds, this.retainEvents);
    this.retainMessageBytesPerUser = positiveInteger('retainMessageBytesPerUser', options.retainMessageBytesPerUser, 256 * 1024);
    this.retainMessageIdsTotal = positiveInteger('retainMessageIdsTotal', options.retainMessageIdsTotal, 100_000);
    this.#now = options.now ?? Date.now;
    redis.defineCommand('lockstepAppend', { lua: APPEND, numberOfKeys: 6 });
    redis.defineCommand('lockstepReadAfter', { lua: READ_AFTER, numberOfKeys: 3 });
    redis.defineCommand('lockstepRecordMessage', { lua: RECORD_MESSAGE, numberOfKeys: 4 });
    redis.defineCommand('lockstepRenewLeases', { lua: RENEW_LEASES, numberOfKeys: 1 });
    redis.defineCommand('lockstepSweepExpired', { lua: SWEEP_EXPIRED, numberOfKeys: 1 });
    this.#redis = redis as Redis & ScriptCommands;
  }

  /** The shared epoch; empty until `refreshEpoch` ran once. */
  get epoch(): string {
    return this.#epoch;
  }

  /**
   * Reads the epoch every node shares, creating it if Redis has none (first start, or a
   * Redis that lost its data: then every seq starts over, and resumes are told `epoch`).
   * Called on every (re)connect.
   */
  async refreshEpoch(): Promise<string> {
    await this.#redis.set(this.keys.epoch, randomUUID(), 'NX');
    this.#epoch = (await this.#redis.get(this.keys.epoch)) ?? '';
    return this.#epoch;
  }

  async append(userId: string, event: NewStreamEvent): Promise<StreamEvent> {
    const kind = event.event === 'agent_started' ? 'start' : ENDS_RUN.has(event.event) ? 'end' : 'step';
    let run = this.#ownRuns.get(event.runId);
    if (kind === 'start' || run === undefined) {
      run = { member: `${event.runId}\n${userId}`, appends: 0 };
      if (kind === 'start') this.#ownRuns.set(event.runId, run);
    }
    const appendId = kind === 'start' || this.#ownRuns.has(event.runId) ? String(run.appends++) : randomUUID();
    if (kind === 'end') this.#ownRuns.delete(event.runId);
    const key = deltaKey(event);
    // JSON-escaped, so that a delta ending in half a surrogate pair is stored as it was sent.
    const piece = key === undefined ? '' : JSON.stringify((event.data as DeltaData).delta).slice(1, -1);
    const [seq, epoch] = await this.#redis.lockstepAppend(
      this.keys.seq(userId), this.keys.stream(userId), this.keys.leases, this.keys.run(event.runId), this.keys.epoch,
      this.keys.streamBytes(userId),
      this.retainEvents, JSON.stringify(event), this.keys.channel(userId), run.member, kind,
      this.leaseMs, appendId, this.retainMs, randomUUID(), this.retainBytesPerUser,
      key ?? '', piece, piece.length, event.ts, DELTA_CHUNK_MAX_BYTES, DELTA_CHUNK_MAX_DELTAS,
      event.event === 'approval_requested' ? String((event.data as { toolCallId?: unknown }).toolCallId ?? '') : '',
    );
    // Before the hub sees the event: it compares this epoch with each connection's.
    this.#epoch = epoch;
    return { seq, ...event };
  }

  async lastSeq(userId: string): Promise<number> {
    return Number((await this.#redis.get(this.keys.seq(userId))) ?? 0);
  }

  async readAfter(userId: string, afterSeq: number): Promise<StreamEvent[] | undefined> {
    const [lastSeq, entries, epoch] = await this.#redis.lockstepReadAfter(
      this.keys.seq(userId), this.keys.stream(userId), this.keys.epoch, afterSeq + 1, randomUUID(),
    );
    this.#epoch = epoch;
    if (afterSeq > lastSeq) return undefined;
    const events = entries.flatMap(parseEntry).filter((event) => event.seq > afterSeq);
    // Trimming (count or bytes) or the key's TTL dropped some: the list would not be complete.
    if (events.length !== lastSeq - afterSeq || (events[0] !== undefined && events[0].seq !== afterSeq + 1)) return undefined;
    const oldest = events[0];
    if (oldest !== undefined && oldest.ts < this.#now() - this.retainMs) return undefined;
    return events;
  }

  async recordMessage(userId: string, messageId: string, runId: string): Promise<string | undefined> {
    const { keys } = this;
    const original = await this.#redis.lockstepRecordMessage(
      keys.messageRuns(userId), keys.messageOrder(userId), keys.messageBytes(userId), keys.messageIndex,
      messageId, runId, this.retainMs, this.retainMessageIds, this.retainMessageBytesPerUser, this.retainMessageIdsTotal,
      keys.prefix, userId,
    );
    // Our own SET, resent after a reconnect, must not look like a duplicate of itself.
    return original === null || original === runId ? undefined : original;
  }

  /** Extends the leases of runs started here; forgets runs another node ended as node_lost. */
  async renewLeases(): Promise<void> {
    if (this.#ownRuns.size === 0) return;
    const members = [...this.#ownRuns.values()].map((run) => run.member);
    const lost = new Set(await this.#redis.lockstepRenewLeases(this.keys.leases, this.leaseMs, ...members));
    for (const [runId, run] of this.#ownRuns) if (lost.has(run.member)) this.#ownRuns.delete(runId);
  }

  /** Ends every run whose lease expired with `agent_error { reason: 'node_lost' }`. */
  sweepExpiredLeases(): Promise<number> {
    return this.#redis.lockstepSweepExpired(this.keys.leases, this.keys.prefix, this.retainEvents, this.retainMs, this.retainBytesPerUser);
  }

  /** Runs started on this node and not ended (for metrics and tests). */
  get ownRuns(): number {
    return this.#ownRuns.size;
  }
}

/**
 * A stream entry back into its events: `<seq>-1 e <json>` is one; a delta chunk (fields
 * `e k d l n f z`, see redis-scripts.ts) is one per delta, `seq - n + 1 .. seq`, each exactly
 * as appended (its text and its ts).
 */
export function parseEntry([id, fields]: Entry): StreamEvent[] {
  const seq = Number(id.split('-')[0]);
  const named = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) named.set(fields[i] as string, fields[i + 1] as string);
  const first = JSON.parse(named.get('e') ?? '{}') as NewStreamEvent;
  const text = named.get('d');
  if (text === undefined) return [{ seq, ...first }];
  const lengths = (named.get('l') ?? '').split(',').map(Number);
  const firstTs = Number(named.get('f'));
  const offsets = (named.get('z') ?? '').split(',').map(Number);
  const from = seq - lengths.length + 1;
  const events: StreamEvent[] = [{ seq: from, ...first }];
  let offset = lengths[0] ?? 0;
  for (let i = 1; i < lengths.length; i++) {
    const length = lengths[i] ?? 0;
    const delta = JSON.parse(`"${text.slice(offset, offset + length)}"`) as string;
    offset += length;
    events.push({ seq: from + i, runId: first.runId, event: first.event, data: deltaData(first.data as DeltaData, delta), ts: firstTs + (offsets[i] ?? 0) });
  }
  return events;
}
