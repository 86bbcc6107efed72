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
  /** The run's hash: its applied append ids, and what other nodes asked of it (`cancel`, `pending:<id>`, `answer:<id>`). */
  run(runId: string): string { return `${this.prefix}run:${runId}`; }
  /** Pub/sub channel naming a run whose control changed (a cancel, an approval's answer). */
  get runControl(): string { return `${this.prefix}run-control`; }
  /** Bytes of the user's retained stream entries (their JSON), kept next to the stream with the same TTL. */
  streamBytes(userId: string): string { return `${this.prefix}stream-bytes:${userId}`; }
  /** The user's remembered message ids: hash id → run id, sorted set id → accepted at (ms), and their bytes. */
  messageRuns(userId: string): string { return `${this.prefix}msg-runs:${userId}`; }
  messageOrder(userId: string): string { return `${this.prefix}msg-order:${userId}`; }
  messageBytes(userId: string): string { return `${this.prefix}msg-bytes:${userId}`; }
  /** Every user's remembered message ids, oldest first (members `<userId>\n<messageId>`): the total bound. */
  get messageIndex(): string { return `${this.prefix}msg-index`; }
}
