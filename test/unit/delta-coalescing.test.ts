/**
 * Compaction for resume (issue 15 item 2), in memory: the coalescing rule, the in-memory log
 * storing consecutive deltas as one entry (retention counted in entries and bytes, not in
 * deltas), and the hub handing a resume and a catch-up coalesced events over exact seq ranges.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { coalesceDeltas, DELTA_CHUNK_MAX_DELTAS } from '../../src/delivery/delta-coalescing.js';
import { MemoryEventLog, type NewStreamEvent } from '../../src/delivery/event-log.js';
import { StreamHub, type StreamMessage } from '../../src/delivery/stream-hub.js';
import { checkStreamHistory } from '../../src/testing/history-checker.js';
import type { StreamEvent } from '../../src/protocol/frames.js';

const text = (runId: string, delta: string, ts = 0): NewStreamEvent => ({ runId, event: 'text_delta', data: { delta }, ts });
const args = (runId: string, toolCallId: string, delta: string): NewStreamEvent => ({ runId, event: 'tool_args_delta', data: { toolCallId, delta }, ts: 0 });
const thinking = (runId: string): NewStreamEvent => ({ runId, event: 'agent_thinking', data: {}, ts: 0 });
const numbered = (events: NewStreamEvent[]): StreamEvent[] => events.map((e, i) => ({ seq: i + 1, ...e }));
const joined = (events: readonly StreamEvent[], event = 'text_delta') =>
  events.filter((e) => e.event === event).map((e) => (e.data as { delta: string }).delta).join('');

describe('coalesceDeltas', () => {
  it('one event per stretch of one run and kind, covering its exact seq range with the concatenated text', () => {
    const events = numbered([
      thinking('r'), text('r', 'a'), text('r', 'b'), text('r', 'c'),
      args('r', 't', '{'), args('r', 't', '}'), args('r', 'u', 'x'), text('s', 'other run'), text('r', 'd'),
    ]);
    expect(coalesceDeltas(events)).toEqual([
      events[0],
      { seq: 4, fromSeq: 2, runId: 'r', event: 'text_delta', data: { delta: 'abc' }, ts: 0 },
      { seq: 6, fromSeq: 5, runId: 'r', event: 'tool_args_delta', data: { toolCallId: 't', delta: '{}' }, ts: 0 },
      events[6], events[7], events[8],
    ]);
  });

  it('splits at maxChars and keeps a delta of another shape alone', () => {
    const events = numbered([text('r', 'aa'), text('r', 'bb'), text('r', 'cc'), { runId: 'r', event: 'text_delta', data: { delta: 'x', extra: 1 }, ts: 0 }]);
    const out = coalesceDeltas(events, 4);
    expect(out.map((e) => [e.fromSeq ?? e.seq, e.seq])).toEqual([[1, 2], [3, 3], [4, 4]]);
    expect(out[2]).toBe(events[3]);
  });

  it('property: the result covers every seq once, in order, and carries the same text per run and kind', () => {
    const event = fc.oneof(
      fc.record({ run: fc.constantFrom('r', 's'), delta: fc.string({ maxLength: 3 }) }).map(({ run, delta }) => text(run, delta)),
      fc.record({ id: fc.constantFrom('t', 'u'), delta: fc.string({ maxLength: 3 }) }).map(({ id, delta }) => args('r', id, delta)),
      fc.constant(thinking('r')),
    );
    fc.assert(fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (input, maxChars) => {
      const events = numbered(input);
      const out = coalesceDeltas(events, maxChars);
      expect(checkStreamHistory(out, 0, events.length)).toEqual([]);
      for (const run of ['r', 's']) {
        const of = (list: StreamEvent[]) => list.filter((e) => e.runId === run);
        expect(joined(of(out))).toBe(joined(of(events)));
      }
      for (const id of ['t', 'u']) {
        const of = (list: StreamEvent[]) => list.filter((e) => (e.data as { toolCallId?: string }).toolCallId === id);
        expect(joined(of(out), 'tool_args_delta')).toBe(joined(of(events), 'tool_args_delta'));
      }
    }));
  });
});

describe('MemoryEventLog stores consecutive deltas as one entry', () => {
  it('5,000 deltas of one run fit a retention of 10 entries; every seq reads back exactly, from any point', () => {
    const log = new MemoryEventLog({ retainEvents: 10, now: () => 0 });
    log.append('u', { runId: 'r', event: 'agent_started', data: {}, ts: 0 });
    for (let i = 0; i < 5000; i++) log.append('u', text('r', `d${i} `));
    log.append('u', { runId: 'r', event: 'agent_completed', data: {}, ts: 0 });
    const all = log.readAfter('u', 0);
    expect(all).toHaveLength(5002);
    expect(all?.every((e, i) => e.seq === i + 1)).toBe(true);
    expect(all?.[1]).toEqual({ seq: 2, runId: 'r', event: 'text_delta', data: { delta: 'd0 ' }, ts: 0 });
    for (const after of [1, 2, 11, 1025, 1026, 4999, 5001]) {
      expect(JSON.stringify(log.readAfter('u', after))).toBe(JSON.stringify(all?.slice(after)));
    }
    // 5,000 deltas take ceil(5000 / 1024) = 5 entries, plus start and end.
    const entries = Math.ceil(5000 / DELTA_CHUNK_MAX_DELTAS) + 2;
    expect(entries).toBeLessThanOrEqual(10);
  });

  it('the count bound counts entries: an eleventh entry drops the oldest whole', () => {
    const log = new MemoryEventLog({ retainEvents: 3, now: () => 0 });
    log.append('u', thinking('r')); // entry 1: seq 1
    for (let i = 0; i < 4; i++) log.append('u', text('r', 'a')); // entry 2: seqs 2..5
    log.append('u', thinking('r')); // entry 3: seq 6
    expect(log.readAfter('u', 0)).toHaveLength(6);
    log.append('u', args('r', 't', '{')); // entry 4: seq 7, drops entry 1
    expect(log.readAfter('u', 0)).toBeUndefined();
    expect(log.readAfter('u', 1)?.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    log.append('u', thinking('r')); // drops the chunk 2..5 at once
    expect(log.readAfter('u', 3)).toBeUndefined();
    expect(log.readAfter('u', 5)?.map((e) => e.seq)).toEqual([6, 7, 8]);
  });

  it('bytes: a chunk costs about its text, and the byte bounds still drop the oldest entries', () => {
    const log = new MemoryEventLog({ now: () => 0 });
    log.append('u', text('r', 'x'));
    const one = log.retainedBytes;
    for (let i = 0; i < 999; i++) log.append('u', text('r', 'x'));
    // 1,000 one-character deltas: one event's JSON plus 7 bytes per further delta, not 1,000 events' JSON.
    expect(log.retainedBytes).toBe(one + 999 * 7);
    expect(log.retainedBytes).toBeLessThan(1000 * one / 4);

    const small = new MemoryEventLog({ retainBytesPerUser: 2000, now: () => 0 });
    small.append('u', thinking('r'));
    for (let i = 0; i < 300; i++) small.append('u', text('r', 'abcdefgh'));
    expect(small.readAfter('u', 0)).toBeUndefined(); // the chunk outgrew the bound: older entries went
    expect(small.readAfter('u', 1)).toHaveLength(300); // the newest entry always stays
  });

  it('a chunk ages from its newest delta; the total bound sees an extended chunk as new', () => {
    let now = 0;
    const log = new MemoryEventLog({ retainMs: 100, now: () => now });
    log.append('u', text('r', 'a', 0));
    now = 90;
    log.append('u', text('r', 'b', 90));
    now = 150;
    expect(log.readAfter('u', 0)?.map((e) => [(e.data as { delta: string }).delta, e.ts])).toEqual([['a', 0], ['b', 90]]);
    now = 191;
    expect(log.readAfter('u', 0)).toBeUndefined();

    const total = new MemoryEventLog({ retainBytesTotal: 400, now: () => 0 });
    total.append('a', text('r', 'x')); // a's chunk is older than b's event…
    total.append('b', thinking('s'));
    total.append('a', text('r', 'y')); // …until it grows: now b's event is the oldest
    for (let i = 0; total.readAfter('b', 0)?.length === 1 && i < 100; i++) total.append('a', text('r', 'z'));
    expect(total.readAfter('b', 0)).toBeUndefined();
    expect(total.readAfter('a', 0)?.[0]).toMatchObject({ seq: 1, data: { delta: 'x' } });
  });
});

describe('StreamHub hands a resume and a catch-up coalesced deltas', () => {
  it('the replay of stream.joined covers every missed seq once, with the text published there', () => {
    const log = new MemoryEventLog({ now: () => 0 });
    const hub = new StreamHub(log);
    hub.publish('u', { runId: 'r', event: 'agent_started', data: {}, ts: 0 });
    for (let i = 0; i < 100; i++) hub.publish('u', text('r', `${i},`));
    hub.publish('u', { runId: 'r', event: 'agent_completed', data: {}, ts: 0 });
    const messages: StreamMessage[] = [];
    hub.join('u', 'c1', { epoch: log.epoch, lastSeq: 11 }, (m) => messages.push(m));
    const first = messages[0];
    if (first?.type !== 'stream.joined') throw new Error('expected stream.joined');
    expect(first.resumed).toBe(true);
    expect(first.replay.map((e) => [e.fromSeq, e.seq, e.event])).toEqual([[12, 101, 'text_delta'], [undefined, 102, 'agent_completed']]);
    expect((first.replay[0]?.data as { delta: string }).delta).toBe(Array.from({ length: 90 }, (_, i) => `${i + 10},`).join(''));
    const caughtUp = hub.readForConnection('c1', 'u', 50);
    expect(Array.isArray(caughtUp) && caughtUp.map((e) => [e.fromSeq, e.seq])).toEqual([[51, 101], [undefined, 102]]);
  });
});
