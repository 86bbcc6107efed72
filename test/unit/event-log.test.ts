import { describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import { StreamHub, type StreamMessage } from '../../src/delivery/stream-hub.js';

const ev = (ts = Date.now()) => ({ runId: 'r', event: 'agent_thinking' as const, data: {}, ts });

describe('MemoryEventLog', () => {
  it('numbers each user stream from 1 without gaps, independently per user', () => {
    const log = new MemoryEventLog();
    expect([log.append('a', ev()).seq, log.append('a', ev()).seq, log.append('b', ev()).seq]).toEqual([1, 2, 1]);
    expect(log.lastSeq('a')).toBe(2);
    expect(log.lastSeq('nobody')).toBe(0);
  });

  it('readAfter returns exactly the events after a seq, or undefined past retention by count', () => {
    const log = new MemoryEventLog({ retainEvents: 3 });
    for (let i = 0; i < 5; i++) log.append('a', ev());
    expect(log.readAfter('a', 2)?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(log.readAfter('a', 5)).toEqual([]);
    expect(log.readAfter('a', 1)).toBeUndefined(); // seq 2 was dropped
    expect(log.readAfter('a', 6)).toBeUndefined(); // beyond the stream
    expect(log.readAfter('new-user', 0)).toEqual([]);
    expect(log.readAfter('new-user', 3)).toBeUndefined();
  });

  it('keeps exactly the last retainEvents readable across many appends (dropped slots are compacted)', () => {
    const log = new MemoryEventLog({ retainEvents: 7 });
    for (let n = 1; n <= 200; n++) {
      log.append('a', ev());
      const oldest = Math.max(1, n - 6);
      expect(log.readAfter('a', oldest - 1)?.map((e) => e.seq)).toEqual(
        Array.from({ length: n - oldest + 1 }, (_, i) => oldest + i),
      );
      if (oldest > 1) expect(log.readAfter('a', oldest - 2)).toBeUndefined();
    }
  });

  it('drops events older than retainMs', () => {
    let now = 1_000;
    const log = new MemoryEventLog({ retainMs: 100, now: () => now });
    log.append('a', ev(now));
    now = 1_050;
    log.append('a', ev(now));
    now = 1_120;
    expect(log.readAfter('a', 0)).toBeUndefined();
    expect(log.readAfter('a', 1)?.map((e) => e.seq)).toEqual([2]);
  });
});

describe('StreamHub.join', () => {
  function joined(hub: StreamHub, resume?: { epoch: string; lastSeq: number }) {
    const got: StreamMessage[] = [];
    hub.join('a', `c${Math.random()}`, resume, (m) => got.push(m));
    return got[0];
  }

  it('answers resumed:true with the missed events, epoch and gap failures with a reason', () => {
    const log = new MemoryEventLog({ retainEvents: 2 });
    const hub = new StreamHub(log);
    for (let i = 0; i < 3; i++) hub.publish('a', ev());
    expect(joined(hub)).toMatchObject({ resumed: false, lastSeq: 3, replay: [] });
    expect(joined(hub, { epoch: log.epoch, lastSeq: 1 })).toMatchObject({ resumed: true, lastSeq: 3 });
    expect((joined(hub, { epoch: log.epoch, lastSeq: 1 }) as { replay: Array<{ seq: number }> }).replay.map((e) => e.seq)).toEqual([2, 3]);
    expect(joined(hub, { epoch: 'other', lastSeq: 1 })).toMatchObject({ resumed: false, reason: 'epoch' });
    expect(joined(hub, { epoch: log.epoch, lastSeq: 0 })).toMatchObject({ resumed: false, reason: 'gap' });
  });
});

describe('MemoryEventLog.recordMessage', () => {
  it('returns the first run id for a repeated message id, per user, within retention', () => {
    let now = 0;
    const log = new MemoryEventLog({ retainEvents: 2, retainMs: 100, now: () => now });
    expect(log.recordMessage('a', 'm1', 'r1')).toBeUndefined();
    expect(log.recordMessage('a', 'm1', 'r2')).toBe('r1');
    expect(log.recordMessage('b', 'm1', 'r3')).toBeUndefined();
    log.recordMessage('a', 'm2', 'r4');
    log.recordMessage('a', 'm3', 'r5'); // count retention drops m1
    expect(log.recordMessage('a', 'm1', 'r6')).toBeUndefined();
    now = 1_000; // age retention drops everything older than 100 ms
    expect(log.recordMessage('a', 'm3', 'r7')).toBeUndefined();
  });
});

describe('MemoryEventLog retention in bytes', () => {
  const sized = (chars: number) => ({ runId: 'r', event: 'agent_thinking' as const, data: { text: 'x'.repeat(chars) }, ts: Date.now() });
  const bytesOf = (log: MemoryEventLog, user: string) => JSON.stringify(log.readAfter(user, log.lastSeq(user) - 1)?.[0]).length;

  it('bounds each user by the JSON length of its events; resume from before the evicted ones is a gap', () => {
    const log = new MemoryEventLog({ retainBytesPerUser: 3_500 });
    for (let i = 0; i < 10; i++) log.append('a', sized(1_000)); // ~1.07 KB each: 3 fit
    const one = bytesOf(log, 'a');
    const kept = Math.floor(3_500 / one);
    expect(log.readAfter('a', 10 - kept)?.map((e) => e.seq)).toEqual([8, 9, 10].slice(3 - kept));
    expect(log.readAfter('a', 10 - kept - 1)).toBeUndefined();
    expect(log.retainedBytes).toBeLessThanOrEqual(3_500);
    expect(log.retainedBytes).toBeGreaterThan(3_500 - one);
    const hub = new StreamHub(log);
    const got: StreamMessage[] = [];
    hub.join('a', 'c1', { epoch: log.epoch, lastSeq: 0 }, (m) => got.push(m));
    expect(got[0]).toMatchObject({ resumed: false, reason: 'gap', lastSeq: 10 });
  });

  it('an event larger than the per-user bound is appended and evicts everything older, until the next one', () => {
    const log = new MemoryEventLog({ retainBytesPerUser: 2_000 });
    log.append('a', sized(100));
    log.append('a', sized(100));
    const big = log.append('a', sized(5_000));
    expect(big.seq).toBe(3);
    expect(log.readAfter('a', 2)?.map((e) => e.seq)).toEqual([3]);
    expect(log.readAfter('a', 1)).toBeUndefined();
    log.append('a', sized(100));
    expect(log.readAfter('a', 3)?.map((e) => e.seq)).toEqual([4]);
    expect(log.readAfter('a', 2)).toBeUndefined();
    expect(log.retainedBytes).toBeLessThan(2_000);
  });

  it('bounds all users together, evicting the oldest events of any user first', () => {
    const log = new MemoryEventLog({ retainBytesTotal: 5_000 });
    log.append('a', sized(1_000)); // a1
    log.append('b', sized(1_000)); // b1
    log.append('a', sized(1_000)); // a2
    log.append('b', sized(1_000)); // b2
    expect(log.readAfter('a', 0)?.length).toBe(2);
    log.append('c', sized(1_000)); // over 5000: a1 (the oldest overall) goes
    expect(log.retainedBytes).toBeLessThanOrEqual(5_000);
    expect(log.readAfter('a', 0)).toBeUndefined();
    expect(log.readAfter('a', 1)?.map((e) => e.seq)).toEqual([2]);
    expect(log.readAfter('b', 0)?.map((e) => e.seq)).toEqual([1, 2]);
    log.append('c', sized(1_000)); // next oldest: b1
    expect(log.readAfter('b', 0)).toBeUndefined();
    expect(log.readAfter('b', 1)?.map((e) => e.seq)).toEqual([2]);
    expect(log.readAfter('c', 0)?.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('keeps the total bound across many users and appends (bytes never exceed it, every read is complete or a gap)', () => {
    const log = new MemoryEventLog({ retainBytesTotal: 20_000, retainBytesPerUser: 6_000 });
    for (let n = 0; n < 2_000; n++) {
      const user = `u${n % 7}`;
      log.append(user, sized((n * 37) % 900));
      expect(log.retainedBytes).toBeLessThanOrEqual(20_000);
      const all = log.readAfter(user, 0);
      const tail = log.readAfter(user, log.lastSeq(user) - 1);
      expect(tail?.map((e) => e.seq)).toEqual([log.lastSeq(user)]);
      if (all !== undefined) expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    }
  });

  it('rejects byte and message bounds that are not positive integers', () => {
    for (const name of ['retainBytesPerUser', 'retainBytesTotal', 'retainMessageIds', 'retainMessageBytesPerUser']) {
      for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
        expect(() => new MemoryEventLog({ [name]: bad })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION' }));
      }
    }
  });
});

describe('MemoryEventLog.recordMessage memory bounds', () => {
  it('remembers at most retainMessageIds ids per user; a forgotten id is a new message', () => {
    const log = new MemoryEventLog({ retainMessageIds: 3 });
    for (let i = 1; i <= 4; i++) expect(log.recordMessage('a', `m${i}`, `r${i}`)).toBeUndefined();
    expect(log.recordMessage('a', 'm4', 'x')).toBe('r4');
    expect(log.recordMessage('a', 'm2', 'x')).toBe('r2');
    expect(log.recordMessage('a', 'm1', 'r9')).toBeUndefined(); // forgotten: treated as new
  });

  it('remembers at most retainMessageBytesPerUser bytes of ids per user (id + run id length)', () => {
    const log = new MemoryEventLog({ retainMessageBytesPerUser: 1_000 });
    const id = (i: number) => `${String(i).padStart(3, '0')}${'m'.repeat(125)}`; // 128 chars + 2-char run id = 130 bytes
    for (let i = 0; i < 20; i++) log.recordMessage('a', id(i), `r${i % 10}`);
    // 7 entries of 130 bytes fit in 1000: ids 13..19 are remembered, 0..12 forgotten.
    expect(log.recordMessage('a', id(19), 'x')).toBe('r9');
    expect(log.recordMessage('a', id(13), 'x')).toBe('r3');
    expect(log.recordMessage('a', id(12), 'x')).toBeUndefined();
    expect(log.recordMessage('b', id(19), 'x')).toBeUndefined(); // per user
  });
});
