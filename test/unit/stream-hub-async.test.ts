/**
 * StreamHub over an asynchronous log and a cross-node fanout whose notifications may be late,
 * repeated or lost: each subscriber still gets joined + replay, then a gap-free, duplicate-free
 * stream (I4, I5). The log is the real MemoryEventLog behind promises the test resolves, so
 * the test chooses every interleaving of reads, appends and notifications.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventLog, type EventLog, type NewStreamEvent } from '../../src/delivery/event-log.js';
import { StreamHub, type Fanout, type StreamMessage } from '../../src/delivery/stream-hub.js';
import type { StreamEvent } from '../../src/protocol/frames.js';

const ev = (): NewStreamEvent => ({ runId: 'r', event: 'agent_thinking', data: {}, ts: Date.now() });

/** MemoryEventLog whose reads answer only when the test calls `release()` (in order). */
class GatedLog implements EventLog {
  readonly inner = new MemoryEventLog({ retainEvents: 5 });
  readonly #pending: Array<() => void> = [];
  get epoch() { return this.inner.epoch; }
  append(userId: string, event: NewStreamEvent) { return Promise.resolve(this.inner.append(userId, event)); }
  lastSeq(userId: string) { return this.#gate(() => this.inner.lastSeq(userId)); }
  readAfter(userId: string, afterSeq: number) { return this.#gate(() => this.inner.readAfter(userId, afterSeq)); }
  recordMessage(userId: string, messageId: string, runId: string) { return this.inner.recordMessage(userId, messageId, runId); }
  get pending() { return this.#pending.length; }
  /** Answers the oldest read with the log as it is now. */
  release(): void { this.#pending.shift()?.(); }
  #gate<T>(read: () => T): Promise<T> {
    return new Promise((resolve) => this.#pending.push(() => resolve(read())));
  }
}

/** The notification transport under the test's control. */
class ManualFanout implements Fanout {
  #onEvent: (userId: string, event: StreamEvent) => void = () => {};
  #onResync: () => void = () => {};
  subscribe() {}
  unsubscribe() {}
  onEvent(listener: (userId: string, event: StreamEvent) => void) { this.#onEvent = listener; }
  onResync(listener: () => void) { this.#onResync = listener; }
  notify(userId: string, event: StreamEvent) { this.#onEvent(userId, event); }
  resync() { this.#onResync(); }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const seqs = (messages: StreamMessage[]) =>
  messages.flatMap((m) => (m.type === 'stream.event' ? [m.event.seq] : m.type === 'stream.joined' ? m.replay.map((e) => e.seq) : []));

function setup() {
  const log = new GatedLog();
  const fanout = new ManualFanout();
  const hub = new StreamHub(log, { fanout });
  const got: StreamMessage[] = [];
  return { log, fanout, hub, got, deliver: (m: StreamMessage) => got.push(m) };
}

describe('StreamHub with an asynchronous log and a fanout', () => {
  it('join: events published while the replay is read come after it, once each, none lost', async () => {
    const { log, hub, got, deliver } = setup();
    for (let i = 0; i < 2; i++) log.inner.append('u', ev());
    hub.join('u', 'c1', { epoch: log.epoch, lastSeq: 1 }, deliver);
    await hub.publish('u', ev()); // seq 3, while lastSeq is being read
    log.release(); // lastSeq = 3
    await flush();
    await hub.publish('u', ev()); // seq 4, while the replay is being read
    log.release(); // replay = 2, 3, 4
    await flush();
    await hub.publish('u', ev()); // seq 5, live
    expect(got[0]).toMatchObject({ type: 'stream.joined', resumed: true, lastSeq: 4 });
    expect(seqs(got)).toEqual([2, 3, 4, 5]);
  });

  it('a notification past a gap makes the hub read the missing events first; repeats are dropped', async () => {
    const { log, fanout, hub, got, deliver } = setup();
    hub.join('u', 'c1', undefined, deliver);
    log.release();
    await flush();
    // Another node appends 1..3; only the notification of 3 arrives, then 1 late, then 3 again.
    const stored = [1, 2, 3].map(() => log.inner.append('u', ev()));
    fanout.notify('u', stored[2]!);
    fanout.notify('u', stored[0]!);
    expect(log.pending).toBe(1);
    log.release();
    await flush();
    fanout.notify('u', stored[2]!);
    expect(seqs(got)).toEqual([1, 2, 3]);
  });

  it('resync after lost notifications hands every missed event in order', async () => {
    const { log, fanout, hub, got, deliver } = setup();
    hub.join('u', 'c1', undefined, deliver);
    log.release();
    await flush();
    for (let i = 0; i < 3; i++) log.inner.append('u', ev()); // notifications lost
    fanout.resync();
    log.release();
    await flush();
    expect(seqs(got)).toEqual([1, 2, 3]);
  });

  it('a catch-up that finds the missed events out of retention closes the connection (1001), never a silent gap', async () => {
    const { log, fanout, hub, got, deliver } = setup();
    hub.join('u', 'c1', undefined, deliver);
    log.release();
    await flush();
    const stored = Array.from({ length: 7 }, () => log.inner.append('u', ev())); // retainEvents 5
    fanout.notify('u', stored[6]!);
    log.release();
    await flush();
    expect(got.at(-1)).toEqual({ type: 'stream.lost' });
    expect(seqs(got)).toEqual([]);
  });

  it("a connection's own catch-up read includes events handed to it meanwhile, and stops at the hub's cursor", async () => {
    const { log, hub, deliver } = setup();
    hub.join('u', 'c1', undefined, deliver);
    log.release();
    await flush();
    await hub.publish('u', ev()); // 1
    const reading = hub.readForConnection('c1', 'u', 0);
    await hub.publish('u', ev()); // 2, handed while the read is in flight
    log.release();
    expect((await reading)?.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('leave during the join read: nothing is delivered afterwards', async () => {
    const { log, hub, got, deliver } = setup();
    hub.join('u', 'c1', undefined, deliver);
    hub.leave('c1');
    log.release();
    await flush();
    await hub.publish('u', ev());
    expect(got).toEqual([]);
  });
});
