/**
 * fast-check explores interleavings of appends, log reads, joins (with and without resume),
 * leaves and cross-node notifications — late, out of order, or lost with a dropped connection — for
 * two nodes (two StreamHubs) sharing one log, as on Redis. A node's pub/sub connection may
 * drop (notifications published meanwhile are lost) and come back (the node re-reads).
 * After every run, once every connection is back, every connection must have received:
 *   I4 consecutive seqs from its starting point, no duplicates, none missing at the end;
 *   I5 its replay first (right after `stream.joined`), then live events, nothing twice.
 * The log is the real MemoryEventLog; each of its answers is a scheduler task.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryEventLog, type EventLog, type NewStreamEvent } from '../../src/delivery/event-log.js';
import { StreamHub, type Fanout, type StreamMessage } from '../../src/delivery/stream-hub.js';
import { checkStreamHistory } from '../../src/testing/index.js';
import type { StreamEvent } from '../../src/protocol/frames.js';

type Command =
  | { kind: 'publish'; node: number }
  | { kind: 'join'; node: number; resumeBack: number | null }
  | { kind: 'leave'; nth: number }
  | { kind: 'disconnect'; node: number }
  | { kind: 'reconnect'; node: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('publish' as const), node: fc.nat(1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), node: fc.nat(1), resumeBack: fc.option(fc.nat(4)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), nth: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), node: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), node: fc.nat(1) }) },
);

/** Like the Redis fanout: at-most-once while connected, nothing while disconnected. */
class ScheduledFanout implements Fanout {
  connected = true;
  #onEvent: (userId: string, event: StreamEvent) => void = () => {};
  #onResync: () => void = () => {};
  subscribe() {}
  unsubscribe() {}
  onEvent(listener: (userId: string, event: StreamEvent) => void) { this.#onEvent = listener; }
  onResync(listener: () => void) { this.#onResync = listener; }
  notify(event: StreamEvent) { if (this.connected) this.#onEvent('u', event); }
  /** Reconnected and resubscribed: every subscriber re-reads. */
  reconnect() {
    this.connected = true;
    this.#onResync();
  }
}

interface Connection { node: number; resume: number | undefined; got: StreamMessage[]; left: boolean }

describe('StreamHub across nodes (property)', () => {
  it('I4/I5: every connection on every node gets its replay, then a gap-free stream, whatever the notifications do', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(command, { minLength: 1, maxLength: 25 }), async (s, commands) => {
        const inner = new MemoryEventLog();
        const fanouts = [new ScheduledFanout(), new ScheduledFanout()];
        // Like the append script: seq, stream and notification in one atomic step.
        const log: EventLog = {
          get epoch() { return inner.epoch; },
          append: (userId: string, event: NewStreamEvent) =>
            s.schedule(Promise.resolve(), 'append').then(() => {
              const stored = inner.append(userId, event);
              // Published to the connected nodes now; each delivery is its own task.
              for (const fanout of fanouts) {
                if (fanout.connected) void s.schedule(Promise.resolve(), `notify seq ${stored.seq}`).then(() => fanout.notify(stored));
              }
              return s.schedule(Promise.resolve(stored), 'append reply');
            }),
          // A read runs at Redis at one point and its reply arrives at a later one.
          lastSeq: (userId: string) =>
            s.schedule(Promise.resolve(), 'lastSeq').then(() => s.schedule(Promise.resolve(inner.lastSeq(userId)), 'lastSeq reply')),
          readAfter: (userId: string, afterSeq: number) =>
            s.schedule(Promise.resolve(), 'read').then(() => s.schedule(Promise.resolve(inner.readAfter(userId, afterSeq)), 'read reply')),
          recordMessage: () => undefined,
        };
        const hubs = fanouts.map((fanout) => new StreamHub(log, { fanout }));
        const connections: Connection[] = [];

        const run = (c: Command) => {
          switch (c.kind) {
            case 'publish':
              void hubs[c.node]!.publish('u', { runId: 'r', event: 'agent_thinking', data: {}, ts: Date.now() });
              return;
            case 'join': {
              const resume = c.resumeBack === null ? undefined : Math.max(0, inner.lastSeq('u') - c.resumeBack);
              const connection: Connection = { node: c.node, resume, got: [], left: false };
              connections.push(connection);
              hubs[c.node]!.join('u', `c${connections.length}`, resume === undefined ? undefined : { epoch: inner.epoch, lastSeq: resume }, (m) => connection.got.push(m));
              return;
            }
            case 'leave': {
              const connection = connections[c.nth];
              if (connection === undefined) return;
              connection.left = true;
              hubs[connection.node]!.leave(`c${c.nth + 1}`);
              return;
            }
            case 'disconnect':
              fanouts[c.node]!.connected = false;
              return;
            case 'reconnect':
              if (!fanouts[c.node]!.connected) fanouts[c.node]!.reconnect();
              return;
          }
        };
        for (const c of commands) void s.schedule(Promise.resolve(), `${c.kind}`).then(() => run(c));
        await s.waitIdle();
        // Every pub/sub connection eventually comes back.
        for (const fanout of fanouts) if (!fanout.connected) fanout.reconnect();
        await s.waitIdle();

        const lastSeq = inner.lastSeq('u');
        for (const connection of connections) {
          try {
            check(connection, lastSeq);
          } catch (error) {
            throw new Error(`${String(error)}\nconnection: ${JSON.stringify(connection)}\nlog lastSeq ${lastSeq}`);
          }
        }
      }),
    );
  });
});

function check(connection: Connection, lastSeq: number): void {
  {
    {
          const [joined, ...rest] = connection.got;
          if (joined === undefined) {
            expect(connection.left).toBe(true);
            return;
          }
          expect(joined.type).toBe('stream.joined');
          if (joined.type !== 'stream.joined') return;
          expect(rest.every((m) => m.type === 'stream.event')).toBe(true);
          const live = rest.flatMap((m) => (m.type === 'stream.event' ? [m.event] : []));
          const start = joined.resumed ? (connection.resume ?? 0) : joined.lastSeq;
          expect(joined.resumed).toBe(connection.resume !== undefined);
          const received = [...joined.replay, ...live];
          expect(checkStreamHistory(received, start, connection.left ? undefined : lastSeq)).toEqual([]);
    }
  }
}
