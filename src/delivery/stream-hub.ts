/**
 * Fan-out of a user's stream to every ready connection of that user (all tabs), on this
 * node and — through a `Fanout` — from other nodes.
 *
 * Every subscriber has a cursor: the seq of the last event handed to it. An event is handed
 * only if it is the next one (seq = cursor + 1); an older one is a duplicate and dropped; a
 * newer one reveals a gap (a missed cross-node notification), so the hub reads the missing
 * events from the log before handing anything else. Each connection therefore sees its
 * stream gap-free and in order (I4), whatever the notification path did.
 *
 * With the in-memory log everything is synchronous, exactly as before: `join` answers at once
 * with `stream.joined`, so in the actor's mailbox the join precedes every later event. With
 * an asynchronous log the subscriber is registered first and holds live events while the
 * join reads the log; they are handed after `stream.joined`, from the replay's end on (I5).
 *
 * Live, every delta is an event of its own. What the log hands over in bulk — the resume
 * replay of `stream.joined` and a congested connection's catch-up — has its consecutive deltas
 * coalesced (delta-coalescing.ts): one event per stretch, covering its exact seq range.
 */
import type { EventLog, NewStreamEvent } from './event-log.js';
import { andThen, isPromise, type MaybePromise } from './maybe-promise.js';
import { CloseReason } from '../protocol/close-codes.js';
import type { ResumeRequest, StreamEvent } from '../protocol/frames.js';
import type { StreamJoined, StreamRefused } from '../../machines/connection.js';
import { coalesceDeltas } from './delta-coalescing.js';

/** What the hub delivers to a connection: its join answer, then events (or a shutdown when it cannot stay gap-free). */
export type StreamMessage =
  | StreamJoined
  | StreamRefused
  | { type: 'stream.event'; event: StreamEvent }
  /**
   * The hub can no longer hand this connection a gap-free stream (the log dropped events it
   * had not seen yet, or the log failed): the connection closes 1001 and the client's resume
   * is told `resumed:false` — never a silent gap.
   */
  | { type: 'stream.lost' };

/** A connection's inbox, registered by `join`. */
export type Deliver = (message: StreamMessage) => void;

/**
 * A connection's inbox as an object: `deliver` gets every message but the events, which go to
 * `event` — no message object per event and tab (the server's ConnectionLink is one).
 */
export interface StreamReceiver {
  deliver(message: Exclude<StreamMessage, { type: 'stream.event' }>): void;
  event(event: StreamEvent): void;
}

/** A `Deliver` function as a receiver (made once per join). */
function receiverOf(deliver: Deliver): StreamReceiver {
  return { deliver, event: (event) => deliver({ type: 'stream.event', event }) };
}

/** Cross-node notifications of appended events (e.g. Redis pub/sub). */
export interface Fanout {
  /**
   * Starts (or counts one more) interest in the user's events; resolves once every event
   * appended from then on will be notified. Called once per join, undone by `unsubscribe`.
   */
  subscribe(userId: string): MaybePromise<void>;
  unsubscribe(userId: string): void;
  /**
   * Notifications are a hint: they may be late, repeated or lost — the cursor copes. `epoch`
   * names the history the event's seq belongs to (undefined: the log's current epoch).
   */
  onEvent(listener: (userId: string, event: StreamEvent, epoch?: string) => void): void;
  /** Notifications may have been lost (e.g. a reconnect): every subscriber re-reads the log. */
  onResync(listener: () => void): void;
}

/** Options of `StreamHub`: the per-user connection limit, cross-node fan-out, and where read failures are reported. */
export interface StreamHubOptions {
  maxConnectionsPerUser?: number;
  fanout?: Fanout;
  /** A failed log read while joining or catching up (the connection is closed 1001). */
  onError?: (error: unknown) => void;
  /**
   * @internal How a replay or catch-up is coalesced (default `coalesceDeltas`); the mutation
   * suite swaps in broken ones.
   */
  coalesce?: (events: readonly StreamEvent[]) => StreamEvent[];
}

interface Subscriber {
  readonly userId: string;
  readonly connectionId: string;
  readonly receiver: StreamReceiver;
  /** Seq of the last event handed over; undefined until `stream.joined` was delivered. */
  cursor: number | undefined;
  /** Epoch the connection joined with; undefined until `stream.joined` was delivered. */
  epoch: string | undefined;
  /** Events that arrived while joining or while a gap is being read, handed afterwards. */
  held: Array<{ event: StreamEvent; epoch: string }>;
  reading: boolean;
  /** Another read is needed once the current one ends (notifications lost meanwhile). */
  readAgain: boolean;
  /** Events handed while the connection's own catch-up read is in flight. */
  recording: StreamEvent[] | undefined;
  left: boolean;
}

/** Fan-out of each user's stream to every ready connection of that user (all tabs), over an {@link EventLog}. */
export class StreamHub {
  readonly log: EventLog;
  /**
   * Each user's subscribers, replaced (never changed in place) on every join and leave: an
   * event is offered to the array as it was when it arrived, with no copy per event, however
   * the offers themselves make connections leave or join.
   */
  readonly #byUser = new Map<string, readonly Subscriber[]>();
  readonly #byConnection = new Map<string, Subscriber>();
  readonly #maxConnectionsPerUser: number;
  readonly #fanout: Fanout | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #coalesce: (events: readonly StreamEvent[]) => StreamEvent[];

  constructor(log: EventLog, options: StreamHubOptions = {}) {
    this.log = log;
    this.#maxConnectionsPerUser = options.maxConnectionsPerUser ?? Infinity;
    this.#fanout = options.fanout;
    this.#onError = options.onError ?? (() => {});
    this.#coalesce = options.coalesce ?? ((events) => coalesceDeltas(events));
    this.#fanout?.onEvent((userId, event, epoch) => this.#offerToUser(userId, event, epoch ?? this.log.epoch));
    this.#fanout?.onResync(() => {
      for (const subscriber of this.#byConnection.values()) this.#catchUp(subscriber);
    });
  }

  /**
   * Subscribes, then answers with `stream.joined` (at once with a synchronous log). Events
   * published meanwhile are held and handed after the answer, so none falls between the
   * replayed ones and the live ones, and none arrives twice. `inbox`: a function that gets
   * every message, or a receiver that gets the events apart.
   */
  join(userId: string, connectionId: string, resume: ResumeRequest | undefined, inbox: Deliver | StreamReceiver): void {
    const receiver = typeof inbox === 'function' ? receiverOf(inbox) : inbox;
    const current = this.#byUser.get(userId) ?? [];
    if (current.length >= this.#maxConnectionsPerUser) {
      receiver.deliver({ type: 'stream.refused', reason: CloseReason.TOO_MANY_CONNECTIONS });
      return;
    }
    const subscriber: Subscriber = {
      userId, connectionId, receiver, cursor: undefined, epoch: undefined, held: [], reading: false, readAgain: false, recording: undefined, left: false,
    };
    // A connection that joins again replaces its earlier subscription. O(tabs of the user) per
    // join and leave, where a copy per event was O(tabs) per event.
    this.#byUser.set(userId, [...current.filter((other) => other.connectionId !== connectionId), subscriber]);
    this.#byConnection.set(connectionId, subscriber);

    const settle = (joined: StreamJoined): void => {
      if (subscriber.left) return;
      subscriber.cursor = joined.lastSeq;
      subscriber.epoch = joined.epoch;
      receiver.deliver(joined);
      this.#handHeld(subscriber);
      this.#readAgainIfAsked(subscriber);
    };
    const answer = andThen(this.#fanout?.subscribe(userId), () => this.#joinAnswer(userId, resume));
    if (isPromise(answer)) answer.then(settle, (error: unknown) => this.#lose(subscriber, error));
    else settle(answer);
  }

  /** Idempotent: a connection leaves once, whichever closing path gets here first. */
  leave(connectionId: string): void {
    const subscriber = this.#byConnection.get(connectionId);
    if (subscriber === undefined) return;
    subscriber.left = true;
    this.#byConnection.delete(connectionId);
    const remaining = (this.#byUser.get(subscriber.userId) ?? []).filter((other) => other !== subscriber);
    if (remaining.length === 0) this.#byUser.delete(subscriber.userId);
    else this.#byUser.set(subscriber.userId, remaining);
    this.#fanout?.unsubscribe(subscriber.userId);
  }

  /** Appends first, then delivers: an event is in the log before any socket sees it. */
  publish(userId: string, event: NewStreamEvent): MaybePromise<StreamEvent> {
    return andThen(this.log.append(userId, event), (stored) => {
      // The append names the epoch its seq belongs to (a shared log may have started a new one).
      this.#offerToUser(userId, stored, this.log.epoch);
      return stored;
    });
  }

  /**
   * The connection's own catch-up read (it stopped writing while congested). Events handed
   * to it while an asynchronous read is in flight are added, so the answer has no hole
   * between what the log returned and what the connection was handed meanwhile; it stops at
   * the hub's cursor, so nothing in it is handed again later. Its deltas come coalesced.
   */
  readForConnection(connectionId: string, userId: string, afterSeq: number): MaybePromise<StreamEvent[] | undefined> {
    return andThen(this.#readForConnection(connectionId, userId, afterSeq), (events) => events && this.#coalesce(events));
  }

  #readForConnection(connectionId: string, userId: string, afterSeq: number): MaybePromise<StreamEvent[] | undefined> {
    const read = this.log.readAfter(userId, afterSeq);
    const subscriber = this.#byConnection.get(connectionId);
    if (!isPromise(read) || subscriber === undefined) return read;
    const recording: StreamEvent[] = [];
    subscriber.recording = recording;
    return read.then((events) => {
      if (subscriber.recording === recording) subscriber.recording = undefined;
      if (events === undefined) return undefined;
      if (this.log.epoch !== subscriber.epoch) {
        this.#lose(subscriber, epochChanged(subscriber, this.log.epoch));
        return undefined;
      }
      const cursor = subscriber.cursor ?? afterSeq;
      const fromLog = events.filter((event) => event.seq <= cursor);
      const last = fromLog.at(-1)?.seq ?? afterSeq;
      return [...fromLog, ...recording.filter((event) => event.seq > last)];
    });
  }

  #joinAnswer(userId: string, resume: ResumeRequest | undefined): MaybePromise<StreamJoined> {
    const epoch = this.log.epoch;
    return andThen(this.log.lastSeq(userId), (lastSeq): MaybePromise<StreamJoined> => {
      if (resume === undefined) return { type: 'stream.joined', epoch, lastSeq, resumed: false, replay: [] };
      if (resume.epoch !== epoch) return { type: 'stream.joined', epoch, lastSeq, resumed: false, reason: 'epoch', replay: [] };
      return andThen(this.log.readAfter(userId, resume.lastSeq), (replay): StreamJoined => {
        if (replay === undefined) return { type: 'stream.joined', epoch, lastSeq, resumed: false, reason: 'gap', replay: [] };
        // An asynchronous log may have grown between the two reads: lastSeq covers the replay.
        return { type: 'stream.joined', epoch, lastSeq: Math.max(lastSeq, replay.at(-1)?.seq ?? 0), resumed: true, replay: this.#coalesce(replay) };
      });
    });
  }

  #offerToUser(userId: string, event: StreamEvent, epoch: string): void {
    const subscribers = this.#byUser.get(userId);
    if (subscribers === undefined) return;
    for (let i = 0; i < subscribers.length; i++) this.#offer(subscribers[i]!, event, epoch);
  }

  #offer(subscriber: Subscriber, event: StreamEvent, epoch: string): void {
    if (subscriber.left) return;
    if (subscriber.cursor === undefined || subscriber.reading) {
      subscriber.held.push({ event, epoch });
      return;
    }
    // An event of another history (the shared log lost its data and started over): its seq
    // means nothing against this cursor. The connection closes 1001; its resume is told
    // `resumed:false reason:"epoch"`. Nothing of the new history reaches an old-epoch connection.
    if (epoch !== subscriber.epoch) {
      this.#lose(subscriber, epochChanged(subscriber, epoch));
      return;
    }
    if (event.seq <= subscriber.cursor) return;
    if (event.seq === subscriber.cursor + 1) {
      this.#hand(subscriber, event);
      return;
    }
    subscriber.held.push({ event, epoch });
    this.#catchUp(subscriber);
  }

  #hand(subscriber: Subscriber, event: StreamEvent): void {
    subscriber.cursor = event.seq;
    subscriber.recording?.push(event);
    subscriber.receiver.event(event);
  }

  #handHeld(subscriber: Subscriber): void {
    const held = subscriber.held.sort((a, b) => a.event.seq - b.event.seq);
    subscriber.held = [];
    for (const { event, epoch } of held) this.#offer(subscriber, event, epoch);
  }

  /** Reads what the subscriber missed from the log, then hands what was held meanwhile. */
  #catchUp(subscriber: Subscriber): void {
    if (subscriber.left) return;
    // Still joining, or reading: the join's reads may predate the notifications lost, so
    // read again once the current read is over.
    if (subscriber.reading || subscriber.cursor === undefined) {
      subscriber.readAgain = true;
      return;
    }
    subscriber.reading = true;
    const afterSeq = subscriber.cursor;
    const done = (events: StreamEvent[] | undefined): void => {
      subscriber.reading = false;
      if (subscriber.left) return;
      if (events === undefined) {
        this.#lose(subscriber, new Error(`events after seq ${afterSeq} of user ${subscriber.userId} left retention before this node saw them`));
        return;
      }
      if (this.log.epoch !== subscriber.epoch) {
        this.#lose(subscriber, epochChanged(subscriber, this.log.epoch));
        return;
      }
      for (const event of events) {
        if (event.seq === (subscriber.cursor ?? afterSeq) + 1) this.#hand(subscriber, event);
      }
      this.#handHeld(subscriber);
      this.#readAgainIfAsked(subscriber);
    };
    const read = this.log.readAfter(subscriber.userId, afterSeq);
    if (isPromise(read)) read.then(done, (error: unknown) => this.#lose(subscriber, error));
    else done(read);
  }

  #readAgainIfAsked(subscriber: Subscriber): void {
    if (!subscriber.readAgain || subscriber.reading) return;
    subscriber.readAgain = false;
    this.#catchUp(subscriber);
  }

  #lose(subscriber: Subscriber, error: unknown): void {
    subscriber.reading = false;
    if (subscriber.left) return;
    // Once: the connection is closing; nothing more is handed to it.
    subscriber.left = true;
    this.#onError(error);
    subscriber.receiver.deliver({ type: 'stream.lost' });
  }
}

function epochChanged(subscriber: Subscriber, epoch: string): Error {
  return new Error(`the event log of user ${subscriber.userId} started a new epoch (${epoch}, the connection joined ${subscriber.epoch ?? '?'}): closing 1001 so the client resumes`);
}
