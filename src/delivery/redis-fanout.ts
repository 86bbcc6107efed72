/**
 * Cross-node notifications over Redis pub/sub: one channel per user, subscribed while this
 * node has a connection of that user. The append script publishes `<seq> <json>` in the same
 * atomic step as the XADD, so a notification always names an event already in the stream.
 *
 * Pub/sub is at-most-once (a reconnect loses what was published meanwhile), so it is only a
 * hint: the hub's cursors catch up from the stream on any gap, and after every reconnect
 * this fanout resubscribes and then asks every subscriber to re-read (`onResync`).
 */
import type { Redis } from 'ioredis';
import type { Fanout } from './stream-hub.js';
import type { RedisKeys } from './redis-keys.js';
import type { NewStreamEvent } from './event-log.js';
import type { StreamEvent } from '../protocol/frames.js';

export class RedisFanout implements Fanout {
  readonly #subscriber: Redis;
  readonly #keys: RedisKeys;
  /** Connections per user on this node; the channel is subscribed while the count is > 0. */
  readonly #interest = new Map<string, { count: number; subscribed: Promise<void> }>();
  readonly #eventListeners: Array<(userId: string, event: StreamEvent, epoch?: string) => void> = [];
  readonly #resyncListeners: Array<() => void> = [];
  readonly #onError: (error: unknown) => void;

  /** `subscriber` must be a connection of its own, created with `autoResubscribe: false`. */
  constructor(subscriber: Redis, keys: RedisKeys, onError: (error: unknown) => void = () => {}) {
    this.#subscriber = subscriber;
    this.#keys = keys;
    this.#onError = onError;
    subscriber.on('message', (channel: string, message: string) => this.#notify(channel, message));
  }

  subscribe(userId: string): Promise<void> {
    const interest = this.#interest.get(userId);
    if (interest !== undefined) {
      interest.count += 1;
      return interest.subscribed;
    }
    const subscribed = this.#subscriber.subscribe(this.#keys.channel(userId)).then(() => {});
    this.#interest.set(userId, { count: 1, subscribed });
    // A failed subscribe must not be handed to later joins: they try again.
    subscribed.catch(() => {
      if (this.#interest.get(userId)?.subscribed === subscribed) this.#interest.delete(userId);
    });
    return subscribed;
  }

  unsubscribe(userId: string): void {
    const interest = this.#interest.get(userId);
    if (interest === undefined) return;
    interest.count -= 1;
    if (interest.count > 0) return;
    this.#interest.delete(userId);
    // Commands on one connection run in order: a later subscribe to the same channel wins.
    this.#subscriber.unsubscribe(this.#keys.channel(userId)).catch(this.#onError);
  }

  onEvent(listener: (userId: string, event: StreamEvent, epoch?: string) => void): void {
    this.#eventListeners.push(listener);
  }

  onResync(listener: () => void): void {
    this.#resyncListeners.push(listener);
  }

  /**
   * After a reconnect: subscribe again to every channel in use, and only then re-read,
   * so an event appended in between is either in the read or notified.
   */
  async resubscribeAndResync(): Promise<void> {
    const channels = [...this.#interest.keys()].map((userId) => this.#keys.channel(userId));
    if (channels.length > 0) await this.#subscriber.subscribe(...channels);
    for (const listener of this.#resyncListeners) listener();
  }

  #notify(channel: string, message: string): void {
    const userId = this.#keys.channelUser(channel);
    // "<seq> <epoch> <json>": the epoch says which history the seq belongs to.
    const space = message.indexOf(' ');
    const second = message.indexOf(' ', space + 1);
    if (userId === undefined || space < 0 || second < 0) return;
    const epoch = message.slice(space + 1, second);
    let event: StreamEvent;
    try {
      event = { seq: Number(message.slice(0, space)), ...(JSON.parse(message.slice(second + 1)) as NewStreamEvent) };
    } catch (error) {
      this.#onError(error);
      return;
    }
    for (const listener of this.#eventListeners) listener(userId, event, epoch);
  }
}
