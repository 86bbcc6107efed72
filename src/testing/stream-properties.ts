/**
 * I4, I5 and I7 for the delivery layer: random publishes for several users, joins (fresh,
 * resuming from where an earlier connection stopped, from a wrong epoch or from too far back),
 * and leaves, against a StreamHub over an EventLog with small retention. Every connection's
 * deliveries are then checked: only its user's events (I7), consecutive from its starting point
 * with replay before live and nothing twice (I4, I5), every event up to the end while joined,
 * and a resume refused only when it really could not be honoured, with the right reason (I5).
 */
import fc from 'fast-check';
import { MemoryEventLog, type EventLog } from '../delivery/event-log.js';
import { StreamHub, type StreamMessage } from '../delivery/stream-hub.js';
import type { ResumeRequest, StreamEvent } from '../protocol/frames.js';
import { checkStreamHistory } from './history-checker.js';

export type HubOperation =
  | { op: 'publish'; user: number; count: number }
  | { op: 'join'; user: number; resume: 'none' | 'last' | 'wrongEpoch' | 'zero' }
  | { op: 'leave'; connection: number }
  /** A tab drops, `missed` events are published meanwhile, and it comes back resuming. */
  | { op: 'reconnect'; connection: number; missed: number };

// Two users: enough for isolation, and their streams interleave often.
const USERS = ['alice', 'bob'];

export const hubOperation: fc.Arbitrary<HubOperation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('publish' as const), user: fc.nat(1), count: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('join' as const),
      user: fc.nat(1),
      resume: fc.constantFrom('last' as const, 'none' as const, 'last' as const, 'wrongEpoch' as const, 'zero' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('leave' as const), connection: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('reconnect' as const), connection: fc.nat(7), missed: fc.nat(3) }) },
);

interface Connection {
  id: string;
  user: string;
  resume: ResumeRequest | undefined;
  messages: StreamMessage[];
  /** The user's lastSeq when it joined (what a fresh connection starts from). */
  lastSeqAtJoin: number;
  /** The oldest seq the log still held for the user when it joined. */
  oldestAtJoin: number;
  live: boolean;
}

export interface StreamPropertyOptions {
  /** Default: a MemoryEventLog keeping `retainEvents` events per user. */
  createLog?: (retainEvents: number) => EventLog;
  /** Default: a StreamHub over the log. */
  createHub?: (log: EventLog) => StreamHub;
  /** Which invariants to report. Default all three. */
  invariants?: ReadonlyArray<'I4' | 'I5' | 'I7'>;
}

function received(connection: Connection): StreamEvent[] {
  return connection.messages.flatMap((m) =>
    m.type === 'stream.joined' ? m.replay : m.type === 'stream.event' ? [m.event] : [],
  );
}

/** The property: see the file comment. */
export function streamDeliveryProperty(options: StreamPropertyOptions = {}) {
  // A frozen clock: retention here is by count only (events carry ts 0), so runs are deterministic.
  const createLog = options.createLog ?? ((retainEvents) => new MemoryEventLog({ retainEvents, now: () => 0 }));
  const createHub = options.createHub ?? ((log) => new StreamHub(log));
  return fc.property(fc.array(hubOperation, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (operations, retainEvents) => {
    const log = createLog(retainEvents);
    const hub = createHub(log);
    const published = new Map<string, StreamEvent[]>(USERS.map((u) => [u, []]));
    const connections: Connection[] = [];
    const lastSeen = new Map<string, number>();
    const publish = (user: string, count: number) => {
      for (let i = 0; i < count; i++) {
        // The run id names the user, so a misrouted event is recognisable wherever it lands.
        published.get(user)?.push(hub.publish(user, { runId: `${user}.run`, event: 'agent_thinking', data: {}, ts: 0 }));
      }
    };
    const join = (user: string, resume: ResumeRequest | undefined) => {
      const userEvents = published.get(user) ?? [];
      const connection: Connection = {
        id: `c${connections.length}`,
        user,
        resume,
        messages: [],
        lastSeqAtJoin: userEvents.length,
        // Retention by count: the log keeps the user's last `retainEvents` events.
        oldestAtJoin: Math.max(1, userEvents.length - retainEvents + 1),
        live: true,
      };
      connections.push(connection);
      hub.join(user, connection.id, resume, (message) => connection.messages.push(message));
    };
    const leave = (connection: Connection) => {
      connection.live = false;
      const seen = received(connection).at(-1)?.seq;
      if (seen !== undefined) lastSeen.set(connection.user, Math.max(lastSeen.get(connection.user) ?? 0, seen));
      hub.leave(connection.id);
      return seen ?? (connection.resume?.lastSeq ?? connection.lastSeqAtJoin);
    };
    for (const operation of operations) {
      if (operation.op === 'publish') {
        publish(USERS[operation.user] ?? 'alice', operation.count);
      } else if (operation.op === 'join') {
        const user = USERS[operation.user] ?? 'alice';
        join(
          user,
          operation.resume === 'none'
            ? undefined
            : operation.resume === 'wrongEpoch'
              ? { epoch: 'another-epoch', lastSeq: 0 }
              : { epoch: log.epoch, lastSeq: operation.resume === 'zero' ? 0 : (lastSeen.get(user) ?? 0) },
        );
      } else {
        // `connection` picks among the connections opened so far (modulo their number).
        const connection = connections[operation.connection % Math.max(1, connections.length)];
        if (!connection?.live) continue;
        const seen = leave(connection);
        if (operation.op === 'reconnect') {
          publish(connection.user, operation.missed);
          join(connection.user, { epoch: log.epoch, lastSeq: seen });
        }
      }
    }

    const problems: string[] = [];
    for (const connection of connections) {
      const joined = connection.messages[0];
      const events = received(connection);
      const label = `${connection.id} (${connection.user}, resume ${JSON.stringify(connection.resume)})`;
      // I7: nothing of another user.
      for (const event of events) {
        if (event.runId !== `${connection.user}.run`) problems.push(`I7: ${label} received ${event.runId} seq ${event.seq}`);
      }
      if (joined?.type !== 'stream.joined') {
        problems.push(`${label}: first message was ${joined?.type}, not stream.joined`);
        continue;
      }
      // I5: a resume is refused only when it cannot be honoured, and says why.
      let start = joined.lastSeq;
      if (connection.resume !== undefined) {
        const wanted = connection.resume.lastSeq;
        const possible = connection.resume.epoch === log.epoch && wanted <= connection.lastSeqAtJoin && wanted + 1 >= connection.oldestAtJoin;
        const expectedReason = connection.resume.epoch !== log.epoch ? 'epoch' : possible ? undefined : 'gap';
        if (joined.resumed !== possible) problems.push(`I5: ${label} resumed=${joined.resumed}, expected ${possible}`);
        if (joined.reason !== expectedReason) problems.push(`I5: ${label} reason ${joined.reason}, expected ${expectedReason}`);
        if (joined.resumed) start = wanted;
      }
      // I4/I5: consecutive from the starting point, nothing twice, replay before live; and,
      // joined to the end, everything up to the user's last event.
      const userLast = published.get(connection.user)?.length ?? 0;
      for (const v of checkStreamHistory(events, start, connection.live ? userLast : undefined)) {
        problems.push(`I4/I5: ${label} seq ${v.seq} ${v.kind}; received ${events.map((e) => e.seq).join(',')} from ${start}`);
      }
    }
    const wanted = options.invariants ?? ['I4', 'I5', 'I7'];
    const reported = problems.filter((p) => wanted.some((id) => p.startsWith(id) || p.startsWith(`I4/${id}`)) || !p.startsWith('I'));
    if (reported.length > 0) throw new Error(reported.join('\n'));
  });
}
