/**
 * Compaction for resume in RedisEventLog (issue 15 item 2), against a real redis-server:
 * consecutive deltas of one run and kind are one stream entry (extended by the append script),
 * read back one event per seq from any point, byte for byte (a delta that splits a surrogate
 * pair too) and each with its own ts; count and byte retention count entries and their bytes; other runs' events, and a
 * resent append, keep the chunking exact.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisEventLog, type RedisEventLogOptions } from '../../../src/delivery/redis-event-log.js';
import { MemoryEventLog, type NewStreamEvent } from '../../../src/delivery/event-log.js';
import { DELTA_CHUNK_MAX_DELTAS } from '../../../src/delivery/delta-coalescing.js';
import { describeWithRedis, RedisProcess } from './redis-harness.js';

const started = (runId: string): NewStreamEvent => ({ runId, event: 'agent_started', data: {}, ts: Date.now() });
let clock = Date.now();
/** Each delta a few ms after the last: every one must read back with its own ts. */
const text = (runId: string, delta: string): NewStreamEvent => ({ runId, event: 'text_delta', data: { delta }, ts: (clock += 3) });
const args = (runId: string, toolCallId: string, delta: string): NewStreamEvent => ({ runId, event: 'tool_args_delta', data: { toolCallId, delta }, ts: Date.now() });

describeWithRedis('RedisEventLog delta chunks (real redis-server)', () => {
  let redis: RedisProcess;
  let client: Redis;
  let prefixes = 0;
  const log = async (options: RedisEventLogOptions = {}) => {
    const made = new RedisEventLog(client, { prefix: `d${prefixes++}:`, ...options });
    await made.refreshEpoch();
    return made;
  };

  beforeAll(async () => {
    redis = await RedisProcess.start({ aof: false });
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('deltas share entries; every seq reads back from any point exactly as the memory log answers', async () => {
    const made = await log({ retainEvents: 10 });
    const memory = new MemoryEventLog({ retainEvents: 10 });
    const events: NewStreamEvent[] = [started('r')];
    const N = 1500;
    for (let i = 0; i < N; i++) events.push(text('r', i % 50 === 0 ? `w${i}\ud83d` : i % 50 === 1 ? '\ude00"\\\n' : `t${i} é中 `));
    events.push({ runId: 'r', event: 'tool_executing', data: { toolCallId: 'c' }, ts: Date.now() });
    for (let i = 0; i < 30; i++) events.push(args('r', 'c', `{${i}`));
    events.push(text('r', 'after'));
    await Promise.all(events.map((e) => made.append('u', e)));
    for (const e of events) memory.append('u', e);
    // N deltas: ceil(N / 1024) chunks; then the tool call, its arguments' chunk, one more delta.
    expect(await client.xlen(made.keys.stream('u'))).toBe(1 + Math.ceil(N / DELTA_CHUNK_MAX_DELTAS) + 1 + 1 + 1);
    for (const after of [0, 1, 2, 3, 1024, 1025, 1026, N, N + 1, N + 2, N + 31, N + 32, N + 33]) {
      expect(JSON.stringify(await made.readAfter('u', after))).toBe(JSON.stringify(memory.readAfter('u', after)));
    }
    const all = await made.readAfter('u', 0);
    const textOf = (list: Array<{ data: unknown }>) => list.map((e) => (e.data as { delta: string }).delta).join('');
    expect(textOf(all?.slice(1, N + 1) ?? [])).toBe(textOf(events.slice(1, N + 1)));
  });

  it('another run between two deltas ends the chunk; the count bound drops whole entries', async () => {
    const made = await log({ retainEvents: 3 });
    await made.append('u', started('r'));
    await made.append('u', started('s'));
    await made.append('u', text('r', 'a'));
    await made.append('u', text('s', 'b')); // another run: its own entry
    await made.append('u', text('r', 'c')); // and r again: a new one
    await made.append('u', text('r', 'd'));
    expect((await made.readAfter('u', 2))?.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(await made.readAfter('u', 1)).toBeUndefined();
    await made.append('u', { runId: 's', event: 'agent_completed', data: {}, ts: Date.now() });
    // r's first delta (seq 3) went; s's delta (4), r's chunk (5..6) and s's end (7) stay.
    expect(await made.readAfter('u', 2)).toBeUndefined();
    expect((await made.readAfter('u', 3))?.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
  });

  it('the byte total is the sum of the entries\' field bytes, kept exact while a chunk grows and when it is trimmed', async () => {
    const made = await log({ retainBytesPerUser: 4000 });
    await made.append('u', started('r'));
    for (let i = 0; i < 300; i++) await made.append('u', text('r', 'abcdefghij'));
    const entries = await client.xrange(made.keys.stream('u'), '-', '+');
    const sum = entries.reduce((n, [, fields]) => n + fields.filter((_, i) => i % 2 === 1).reduce((m, v) => m + Buffer.byteLength(v), 0), 0);
    expect(Number(await client.get(made.keys.streamBytes('u')))).toBe(sum);
    expect(entries).toHaveLength(1); // over the bound alone: kept alone
    // The chunk outgrew the bound: agent_started went, the chunk (the newest entry) stays.
    expect(await made.readAfter('u', 0)).toBeUndefined();
    expect(await made.readAfter('u', 1)).toHaveLength(300);
  });
});
