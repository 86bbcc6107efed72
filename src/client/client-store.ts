/**
 * What a client keeps across reloads, as one JSON document under one storage key: who it is,
 * its resume point `(epoch, lastSeq)`, its outbox and its runs. Every change is written at once
 * and whole, so the resume point never disagrees with the runs it covers (a reload can neither
 * show an event twice nor skip one) and a message is stored before `send()` returns.
 */
import type { ClientRun } from './run-book.js';
import type { ClientStorage } from './storage.js';

/** A message kept until the server acked it. */
export interface OutboxEntry {
  id: string;
  text: string;
  threadId: string | undefined;
  metadata: unknown;
  /** UTF-16 length of the stored entry (the outbox's byte bound counts these). */
  bytes: number;
  /** A refused resume happened while it waited: if its ack says duplicate, its run's events were missed. */
  gapped: boolean;
}

/** The stored document (version 1). */
export interface StoredClientState {
  version: 1;
  /** The user the server named in `ready` (state of another user is not resumed). */
  userId: string | undefined;
  epoch: string | undefined;
  /** Seq of the last event applied to the runs. */
  lastSeq: number | undefined;
  outbox: OutboxEntry[];
  runs: ClientRun[];
}

export const emptyState = (): StoredClientState => ({ version: 1, userId: undefined, epoch: undefined, lastSeq: undefined, outbox: [], runs: [] });

function isState(value: unknown): value is StoredClientState {
  const v = value as Partial<StoredClientState> | null;
  return typeof v === 'object' && v !== null && v.version === 1 && Array.isArray(v.outbox) && Array.isArray(v.runs);
}

/** Loads and saves a client's state; an unreadable document is reported and replaced by an empty one. */
export class ClientStore {
  readonly #storage: ClientStorage;
  readonly #key: string;
  state: StoredClientState;
  /** Why the stored document was not used (corrupt JSON, another version), if it was not. */
  readonly discarded: string | undefined;

  constructor(storage: ClientStorage, key: string) {
    this.#storage = storage;
    this.#key = key;
    const text = storage.getItem(key);
    let discarded: string | undefined;
    let state = emptyState();
    if (text !== null) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (isState(parsed)) state = { ...emptyState(), ...parsed };
        else discarded = 'stored client state has an unknown shape or version';
      } catch {
        discarded = 'stored client state is not JSON';
      }
    }
    this.state = state;
    this.discarded = discarded;
  }

  save(): void {
    this.#storage.setItem(this.#key, JSON.stringify(this.state));
  }
}
