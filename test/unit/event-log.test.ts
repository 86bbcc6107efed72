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
