/** Every Redis key and channel lockstep uses, under one prefix (default `lockstep:`). */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  get epoch(): string { return `${this.prefix}epoch`; }
  get leases(): string { return `${this.prefix}leases`; }
  seq(userId: string): string { return `${this.prefix}seq:${userId}`; }
  stream(userId: string): string { return `${this.prefix}stream:${userId}`; }
  /** Pub/sub channel notifying a user's appended events. */
  channel(userId: string): string { return `${this.prefix}events:${userId}`; }
  channelUser(channel: string): string | undefined {
    const head = `${this.prefix}events:`;
    return channel.startsWith(head) ? channel.slice(head.length) : undefined;
  }
  run(runId: string): string { return `${this.prefix}run:${runId}`; }
  message(userId: string, messageId: string): string { return `${this.prefix}msg:${userId}:${messageId.length}:${messageId}`; }
}
