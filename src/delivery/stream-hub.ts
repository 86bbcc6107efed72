/**
 * Fan-out of a user's stream to every ready connection of that user (all tabs).
 * `join` answers synchronously with `stream.joined`, so in the connection actor's mailbox
 * the join always precedes every event published after it: no event can overtake `ready`.
 */
import type { EventLog, NewStreamEvent } from './event-log.js';
import { CloseReason } from '../protocol/close-codes.js';
import type { ResumeRequest, StreamEvent } from '../protocol/frames.js';
import type { StreamJoined, StreamRefused } from '../../machines/connection.js';

/** What the hub delivers to a connection: its join answer, then events. */
export type StreamMessage = StreamJoined | StreamRefused | { type: 'stream.event'; event: StreamEvent };

/** A connection's inbox, registered by `join`. */
export type Deliver = (message: StreamMessage) => void;

/** Fan-out of each user's stream to every ready connection of that user (all tabs), over an {@link EventLog}. */
export class StreamHub {
  readonly log: EventLog;
  readonly #byUser = new Map<string, Map<string, Deliver>>();
  readonly #userOf = new Map<string, string>();

  readonly #maxConnectionsPerUser: number;

  constructor(log: EventLog, options: { maxConnectionsPerUser?: number } = {}) {
    this.log = log;
    this.#maxConnectionsPerUser = options.maxConnectionsPerUser ?? Infinity;
  }

  /**
   * Subscribes and answers at once. Replay and subscription happen in one synchronous step,
   * so no event can fall between the replayed ones and the live ones, or arrive twice.
   */
  join(userId: string, connectionId: string, resume: ResumeRequest | undefined, deliver: Deliver): void {
    let subscribers = this.#byUser.get(userId);
    if (subscribers !== undefined && subscribers.size >= this.#maxConnectionsPerUser) {
      deliver({ type: 'stream.refused', reason: CloseReason.TOO_MANY_CONNECTIONS });
      return;
    }
    if (subscribers === undefined) {
      subscribers = new Map();
      this.#byUser.set(userId, subscribers);
    }
    subscribers.set(connectionId, deliver);
    this.#userOf.set(connectionId, userId);
    const base = { type: 'stream.joined', epoch: this.log.epoch, lastSeq: this.log.lastSeq(userId) } as const;
    if (resume === undefined) {
      deliver({ ...base, resumed: false, replay: [] });
    } else if (resume.epoch !== this.log.epoch) {
      deliver({ ...base, resumed: false, reason: 'epoch', replay: [] });
    } else {
      const replay = this.log.readAfter(userId, resume.lastSeq);
      deliver(replay === undefined ? { ...base, resumed: false, reason: 'gap', replay: [] } : { ...base, resumed: true, replay });
    }
  }

  /** Idempotent: a connection leaves once, whichever closing path gets here first. */
  leave(connectionId: string): void {
    const userId = this.#userOf.get(connectionId);
    if (userId === undefined) return;
    this.#userOf.delete(connectionId);
    const subscribers = this.#byUser.get(userId);
    subscribers?.delete(connectionId);
    if (subscribers?.size === 0) this.#byUser.delete(userId);
  }

  /** Appends first, then delivers: an event is in the log before any socket sees it. */
  publish(userId: string, event: NewStreamEvent): StreamEvent {
    const stored = this.log.append(userId, event);
    const subscribers = this.#byUser.get(userId);
    if (subscribers !== undefined) {
      for (const deliver of subscribers.values()) deliver({ type: 'stream.event', event: stored });
    }
    return stored;
  }
}
