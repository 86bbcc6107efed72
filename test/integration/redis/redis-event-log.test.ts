/**
 * RedisEventLog against a real redis-server, two instances standing for two nodes: one seq
 * order per user, one epoch, retention answers, exactly-once message ids, idempotent appends
 * and run-lease fencing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisEventLog } from '../../../src/delivery/redis-event-log.js';
import type { NewStreamEvent } from '../../../src/delivery/event-log.js';
import { describeWithRedis, RedisProcess } from './redis-harness.js';

const ev = (runId: string, event: NewStreamEvent['event'] = 'agent_thinking'): NewStreamEvent => ({ runId, event, data: { n: 1 }, ts: Date.now() });

describeWithRedis('RedisEventLog (real redis-server)', () => {
  let redis: RedisProcess;
  const clients: Redis[] = [];
  const node = async (options: ConstructorParameters<typeof RedisEventLog>[1] = {}) => {
    const client = new Redis(redis.url);
    clients.push(client);
    const log = new RedisEventLog(client, { prefix: `t${clients.length}:`, ...options });
    await log.refreshEpoch();
    return log;
  };
  /** Two logs on one prefix: two nodes of one deployment. */
  const twoNodes = async (options: ConstructorParameters<typeof RedisEventLog>[1] = {}) => {
    const prefix = `pair${clients.length}:`;
    return [await node({ ...options, prefix }), await node({ ...options, prefix })] as const;
  };

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await redis?.stop();
  });

  it('two nodes share one epoch and one gap-free seq order per user', async () => {
    const [a, b] = await twoNodes();
    expect(a.epoch).not.toBe('');
    expect(b.epoch).toBe(a.epoch);
    const seqs = await Promise.all([
      a.append('u', ev('r1', 'agent_started')), b.append('u', ev('r2', 'agent_started')),
      a.append('u', ev('r1')), b.append('u', ev('r2')), a.append('v', ev('r3', 'agent_started')),
    ]);
    expect(seqs.map((e) => e.seq).sort()).toEqual([1, 1, 2, 3, 4]);
    expect(await b.lastSeq('u')).toBe(4);
    expect((await b.readAfter('u', 0))?.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(await a.readAfter('u', 1)).toEqual((await b.readAfter('u', 0))?.slice(1));
    expect(await a.readAfter('u', 4)).toEqual([]);
    expect(await a.readAfter('u', 5)).toBeUndefined(); // beyond the stream
    expect(await a.readAfter('nobody', 0)).toEqual([]);
  });

  it('readAfter answers undefined once the count bound dropped a wanted event', async () => {
    const log = await node({ retainEvents: 3 });
    await log.append('u', ev('r', 'agent_started'));
    for (let i = 0; i < 4; i++) await log.append('u', ev('r'));
    expect((await log.readAfter('u', 2))?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(await log.readAfter('u', 1)).toBeUndefined();
  });

  it('a message id is recorded once across nodes; a repeat names the first run', async () => {
    const [a, b] = await twoNodes();
    expect(await a.recordMessage('u', 'm1', 'run-a')).toBeUndefined();
    expect(await b.recordMessage('u', 'm1', 'run-b')).toBe('run-a');
    expect(await a.recordMessage('u', 'm1', 'run-a')).toBeUndefined(); // our own resent command
    expect(await b.recordMessage('other', 'm1', 'run-c')).toBeUndefined();
  });

  it('a run whose lease expired is ended once with node_lost, and its node can no longer append', async () => {
    // A lease of 0 ms has expired as soon as it was taken; it stays until a node sweeps it.
    const [a, b] = await twoNodes({ leaseMs: 0 });
    await a.append('u', ev('r', 'agent_started'));
    await a.append('u', ev('r'));
    expect(await b.sweepExpiredLeases()).toBe(1);
    expect(await b.sweepExpiredLeases()).toBe(0);
    const events = (await b.readAfter('u', 0)) ?? [];
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'agent_error']);
    expect(events[2]).toMatchObject({ runId: 'r', data: { reason: 'node_lost' } });
    await expect(a.append('u', ev('r', 'agent_completed'))).rejects.toThrow(/LEASE_LOST/);
    await a.renewLeases();
    expect(a.ownRuns).toBe(0);
    expect(await b.lastSeq('u')).toBe(3);
  });

  it('a live run keeps its lease through renewals and releases it with its last event', async () => {
    const [a, b] = await twoNodes({ leaseMs: 60_000 });
    await a.append('u', ev('r', 'agent_started'));
    await a.renewLeases();
    expect(a.ownRuns).toBe(1);
    expect(await b.sweepExpiredLeases()).toBe(0);
    await a.append('u', ev('r', 'agent_completed'));
    expect(a.ownRuns).toBe(0);
    expect(await clients[clients.length - 1]!.zcard(a.keys.leases)).toBe(0);
  });
});
