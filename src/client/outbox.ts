/**
 * Messages kept, in send order, until acked: each is sent with its own id on every connection
 * until the server acks it (a repeated id is acked `duplicate:true` and starts no second run),
 * so a message typed offline runs exactly once when the connection returns. Bounded in bytes
 * and in count: a message that does not fit is refused at `send()` with LOCKSTEP_ERR_OUTBOX_FULL.
 * The count bound keeps the unacked messages inside the server's message-id window
 * (`retainMessageIds`, default 1000 per user): an id the server forgot would run again.
 */
import { LockstepError } from '../protocol/errors.js';
import type { OutboxEntry, StoredClientState } from './client-store.js';

/** Wire limit of a message id (docs/protocol.md). */
export const MESSAGE_ID_MAX = 128;

export class Outbox {
  readonly #state: StoredClientState;
  readonly maxBytes: number;
  readonly maxMessages: number;
  /** Ids refused by the rate limit on this connection, sent again after `rateLimitRetry`. */
  readonly deferred = new Set<string>();

  constructor(state: StoredClientState, maxBytes: number, maxMessages: number = Number.MAX_SAFE_INTEGER) {
    this.#state = state;
    this.maxBytes = maxBytes;
    this.maxMessages = maxMessages;
  }

  get entries(): readonly OutboxEntry[] {
    return this.#state.outbox;
  }

  get bytes(): number {
    return this.#state.outbox.reduce((sum, entry) => sum + entry.bytes, 0);
  }

  has(id: string): boolean {
    return this.#state.outbox.some((entry) => entry.id === id);
  }

  get(id: string): OutboxEntry | undefined {
    return this.#state.outbox.find((entry) => entry.id === id);
  }

  /** Adds a message (the caller saves the store). */
  add(id: string, text: string, threadId: string | undefined, metadata: unknown): OutboxEntry {
    if (typeof id !== 'string' || id.length === 0 || id.length > MESSAGE_ID_MAX) {
      throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `send(): a message id must be a string of 1–${MESSAGE_ID_MAX} characters, got ${JSON.stringify(id)}`);
    }
    if (this.has(id)) throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `send(): message id ${JSON.stringify(id)} is already in the outbox`);
    const entry: OutboxEntry = { id, text, threadId, metadata, bytes: 0, gapped: false };
    entry.bytes = JSON.stringify(entry).length;
    if (this.bytes + entry.bytes > this.maxBytes) {
      throw new LockstepError(
        'LOCKSTEP_ERR_OUTBOX_FULL',
        `send(): the outbox holds ${this.bytes} bytes of unacked messages and this one needs ${entry.bytes} more, over maxOutboxBytes (${this.maxBytes}); wait for acks (the 'ack' event) or raise maxOutboxBytes`,
      );
    }
    if (this.#state.outbox.length >= this.maxMessages) {
      throw new LockstepError(
        'LOCKSTEP_ERR_OUTBOX_FULL',
        `send(): the outbox holds ${this.#state.outbox.length} unacked messages, maxOutboxMessages (${this.maxMessages}); wait for acks (the 'ack' event) — beyond the server's message-id window (retainMessageIds) a resent message could run twice`,
      );
    }
    this.#state.outbox = [...this.#state.outbox, entry];
    return entry;
  }

  /** Removes an acked message; returns it (undefined: not ours, or already acked). */
  remove(id: string): OutboxEntry | undefined {
    const entry = this.get(id);
    if (entry !== undefined) this.#state.outbox = this.#state.outbox.filter((e) => e !== entry);
    this.deferred.delete(id);
    return entry;
  }

  /** A refused resume: every waiting message may have run in what was missed. */
  markGapped(): void {
    this.#state.outbox = this.#state.outbox.map((entry) => (entry.gapped ? entry : { ...entry, gapped: true }));
  }

  clear(): OutboxEntry[] {
    const dropped = this.#state.outbox;
    this.#state.outbox = [];
    this.deferred.clear();
    return dropped;
  }
}
