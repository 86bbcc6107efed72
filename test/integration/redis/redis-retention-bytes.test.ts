/**
 * Retention in bytes of RedisEventLog (issue 14 item 7), against a real redis-server: a user's
 * stream is trimmed to `retainBytesPerUser` in the append script itself (oldest first, the new
 * event always kept), a read past a trimmed seq is a gap (undefined) exactly as for count
 * trimming, the node_lost sweep obeys the same bound, and message-id dedup is bounded per user
 * in count and bytes and across users in count.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisEventLog, type RedisEventLogOptions } from '../../../src/delivery/redis-event-log.js';
import type { NewStreamEvent } from '../../../src/delivery/event-log.js';
import { describeWithRedis, RedisProcess } from './redis-harness.js';

/** An event whose stored JSON is exactly `bytes` long (the text pads it). */
function sized(runId: string, bytes: number, event: NewStreamEvent['event'] = 'agent_thinking'): NewStreamEvent {
  const base: NewStreamEvent = { runId, event, data: { text: '' }, ts: Date.now() };
  const pad = bytes - JSON.stringify(base).length;
  if (pad < 0) throw new Error(`an event cannot be as small as ${bytes} bytes`);
  return { ...base, data: { text: 'x'.repeat(pad) } };
}

describeWithRedis('RedisEventLog retention in bytes (real redis-server)', () => {
  let redis: RedisProcess;
  let client: Redis;
  let prefixes = 0;
  const log = async (options: RedisEventLogOptions = {}) => {
    const made = new RedisEventLog(client, { prefix: `b${prefixes++}:`, ...options });
    await made.refreshEpoch();
    return made;
  };
  const streamBytes = async (made: RedisEventLog, user: string) => Number(await client.get(made.keys.streamBytes(user)));

  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('trims the oldest events so the stream holds at most retainBytesPerUser; a read past them is a gap', async () => {
    const made = await log({ retainBytesPerUser: 1000 });
    await made.append('u', sized('r', 300, 'agent_started'));
    for (let i = 0; i < 5; i++) await made.append('u', sized('r', 300));
    // 3 × 300 fit in 1000, a 4th does not: seqs 4..6 are kept.
    expect(await client.xlen(made.keys.stream('u'))).toBe(3);
    expect(await streamBytes(made, 'u')).toBe(900);
    expect((await made.readAfter('u', 3))?.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(await made.readAfter('u', 2)).toBeUndefined();
    expect(await made.readAfter('u', 0)).toBeUndefined();
    expect(await made.lastSeq('u')).toBe(6);
    // Another user's stream has its own budget.
    await made.append('v', sized('s', 300, 'agent_started'));
    expect((await made.readAfter('v', 0))?.map((e) => e.seq)).toEqual([1]);
  });

  it('an event larger than the bound alone is appended and kept alone; the next one replaces it', async () => {
    const made = await log({ retainBytesPerUser: 1000 });
    await made.append('u', sized('r', 200, 'agent_started'));
    await made.append('u', sized('r', 5000));
    expect((await made.readAfter('u', 1))?.map((e) => e.seq)).toEqual([2]);
    expect(await made.readAfter('u', 0)).toBeUndefined();
    expect(await streamBytes(made, 'u')).toBe(5000);
    await made.append('u', sized('r', 200));
    expect((await made.readAfter('u', 2))?.map((e) => e.seq)).toEqual([3]);
    expect(await streamBytes(made, 'u')).toBe(200);
  });

  it('count and bytes trim together, whichever drops first', async () => {
    const made = await log({ retainEvents: 2, retainBytesPerUser: 10_000 });
    await made.append('u', sized('r', 100, 'agent_started'));
    for (let i = 0; i < 3; i++) await made.append('u', sized('r', 100));
    expect((await made.readAfter('u', 2))?.map((e) => e.seq)).toEqual([3, 4]);
    expect(await streamBytes(made, 'u')).toBe(200);
    await made.append('u', sized('r', 9_950));
    expect((await made.readAfter('u', 4))?.map((e) => e.seq)).toEqual([5]);
    expect(await made.readAfter('u', 3)).toBeUndefined();
  });

  it('a stream written before byte retention existed (no byte total) is recounted, then trimmed', async () => {
    const made = await log({ retainBytesPerUser: 1000 });
    for (let i = 0; i < 3; i++) await made.append('u', sized('r', 300, i === 0 ? 'agent_started' : 'agent_thinking'));
    await client.del(made.keys.streamBytes('u'));
    await made.append('u', sized('r', 300));
    expect(await streamBytes(made, 'u')).toBe(900);
    expect((await made.readAfter('u', 1))?.map((e) => e.seq)).toEqual([2, 3, 4]);
  });

  it('the node_lost sweep appends under the same byte bound', async () => {
    const made = await log({ retainBytesPerUser: 1000, leaseMs: 0 });
    await made.append('u', sized('r', 400, 'agent_started'));
    await made.append('u', sized('r', 500));
    expect(await made.sweepExpiredLeases()).toBe(1);
    const events = (await made.readAfter('u', 1)) ?? [];
    expect(events.map((e) => e.event)).toEqual(['agent_thinking', 'agent_error']);
    expect(await made.readAfter('u', 0)).toBeUndefined();
    const [nodeLost] = await client.xrange(made.keys.stream('u'), '3-1', '3-1');
    expect(await streamBytes(made, 'u')).toBe(500 + Buffer.byteLength(nodeLost![1][1]!));
  });

  it('message ids are bounded per user in count: the oldest is forgotten, the rest still dedup', async () => {
    const made = await log({ retainMessageIds: 3 });
    for (let i = 1; i <= 4; i++) expect(await made.recordMessage('u', `m${i}`, `run${i}`)).toBeUndefined();
    expect(await client.hlen(made.keys.messageRuns('u'))).toBe(3);
    expect(await made.recordMessage('u', 'm4', 'other')).toBe('run4');
    expect(await made.recordMessage('u', 'm2', 'other')).toBe('run2');
    expect(await made.recordMessage('u', 'm1', 'again')).toBeUndefined(); // forgotten: a new message
  });

  it('message ids are bounded per user in bytes (id + run id)', async () => {
    const made = await log({ retainMessageBytesPerUser: 100 });
    const id = (i: number) => `${i}`.padStart(40, 'm'); // 40 + run id 10 = 50 bytes each
    for (let i = 1; i <= 5; i++) await made.recordMessage('u', id(i), `run-${i}`.padEnd(10, '.'));
    expect(await client.hlen(made.keys.messageRuns('u'))).toBe(2);
    expect(Number(await client.get(made.keys.messageBytes('u')))).toBe(100);
    expect(await made.recordMessage('u', id(5), 'x')).toBe('run-5'.padEnd(10, '.'));
    expect(await made.recordMessage('u', id(3), 'x')).toBeUndefined();
  });

  it('message ids are bounded across users: the oldest of any user go first', async () => {
    const made = await log({ retainMessageIdsTotal: 4 });
    for (let i = 1; i <= 3; i++) await made.recordMessage('a', `a${i}`, `ra${i}`);
    for (let i = 1; i <= 3; i++) await made.recordMessage('b', `b${i}`, `rb${i}`);
    expect(await client.zcard(made.keys.messageIndex)).toBe(4);
    expect(await client.hlen(made.keys.messageRuns('a')) + await client.hlen(made.keys.messageRuns('b'))).toBe(4);
    expect(await made.recordMessage('b', 'b1', 'x')).toBe('rb1');
    expect(await made.recordMessage('a', 'a3', 'x')).toBe('ra3');
    // The per-user bytes followed the cross-user eviction.
    expect(Number(await client.get(made.keys.messageBytes('a')))).toBe('a3'.length + 'ra3'.length);
  });

  it('message ids older than retainMs are forgotten', async () => {
    const made = await log({ retainMs: 50 });
    expect(await made.recordMessage('u', 'm', 'r1')).toBeUndefined();
    expect(await made.recordMessage('u', 'm', 'r2')).toBe('r1');
    await new Promise<void>((resolve) => setTimeout(resolve, 80)); // age is the thing under test here
    expect(await made.recordMessage('u', 'm', 'r2')).toBeUndefined();
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new RedisEventLog(client, { retainBytesPerUser: 0 })).toThrow(/retainBytesPerUser must be a positive integer/);
    expect(() => new RedisEventLog(client, { retainMessageIdsTotal: 1.5 })).toThrow(/LOCKSTEP_ERR_INVALID_OPTION|retainMessageIdsTotal/);
  });
});
