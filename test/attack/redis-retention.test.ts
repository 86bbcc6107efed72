/**
 * Retention in bytes on Redis (issue 14 item 7), against a real redis-server and a real
 * `lockstep serve --redis`: two users each send 40 messages of ~1 MiB; the demo agent echoes
 * each into three events, so an event log bounded only by count (MAXLEN 1000) would keep
 * ~240 MiB in Redis. The append script trims each user's stream to retainBytesPerUser (8 MiB
 * default), so Redis's used_memory (INFO memory) stays bounded, a resume from seq 0 afterwards
 * is told `gap`, the newest events are still resumable, and a bystander loses nothing.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { describeWithRedis, RedisProcess } from '../integration/redis/redis-harness.js';
import { bystanderRoundTrips, ServeProcess } from './attack-harness.js';
import { resumeReady, sendLargeMessages, type Sender } from './large-messages.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;
const TEXT_CHARS = MiB - 512; // just under maxPayload once framed
const MESSAGES_PER_USER = 40;
/** Two users × 8 MiB retained, plus Redis's own overhead and pub/sub buffers; unbounded: ~240 MiB. */
const USED_MEMORY_BOUND = 64 * MiB;

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  const used = /^used_memory:(\d+)/m.exec(info)?.[1];
  if (used === undefined) throw new Error(`no used_memory in INFO memory:\n${info}`);
  return Number(used);
}

describeWithRedis('Redis retention in bytes (real redis-server, real lockstep serve --redis)', () => {
  let redis: RedisProcess;
  let client: Redis;
  let serve: ServeProcess | undefined;
  beforeAll(async () => {
    redis = await RedisProcess.start({ aof: false });
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    await serve?.kill();
    await client?.quit();
    await redis?.stop();
  });

  it('2 users × 40 messages of ~1 MiB: used_memory stays bounded, resume from seq 0 is a gap, a bystander loses nothing', async () => {
    serve = await ServeProcess.start(['--redis', redis.url, '--log-level', 'warn']);
    const before = await usedMemory(client);
    const text = 'x'.repeat(TEXT_CHARS);
    const senders: Sender[] = [{ lastSeq: 0, epoch: '', peak: 0 }, { lastSeq: 0, epoch: '', peak: 0 }];
    const sample = () => usedMemory(client);
    await Promise.all([
      sendLargeMessages(serve.wsUrl, 'redis-big-a', text, senders[0]!, MESSAGES_PER_USER, sample),
      sendLargeMessages(serve.wsUrl, 'redis-big-b', text, senders[1]!, MESSAGES_PER_USER, sample),
      bystanderRoundTrips(serve.wsUrl, 10),
    ]);
    const growth = Math.max(...senders.map((s) => s.peak), await usedMemory(client)) - before;
    expect(growth, `Redis used_memory grew by ${(growth / MiB).toFixed(0)} MiB`).toBeLessThan(USED_MEMORY_BOUND);
    expect(senders[0]!.lastSeq).toBe(MESSAGES_PER_USER * 5);
    const gap = await resumeReady(serve.wsUrl, 'redis-big-a', senders[0]!.epoch, 0);
    expect(gap).toMatchObject({ resumed: false, reason: 'gap', lastSeq: MESSAGES_PER_USER * 5 });
    const recent = await resumeReady(serve.wsUrl, 'redis-big-b', senders[1]!.epoch, MESSAGES_PER_USER * 5 - 1);
    expect(recent).toMatchObject({ resumed: true });
    await bystanderRoundTrips(serve.wsUrl, 3, 'bystander-after');
    expect(serve.alive).toBe(true);
  }, 180_000);

  it('--retain-bytes-per-user bounds the Redis log; --retain-bytes-total is refused with --redis', async () => {
    await serve?.kill();
    const refused = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--redis', redis.url, '--retain-bytes-total', '1000000'], { encoding: 'utf8', timeout: 10_000 });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--retain-bytes-total applies to the in-memory log; with --redis bound the total with Redis maxmemory/);
    serve = await ServeProcess.start(['--redis', redis.url, '--retain-bytes-per-user', '20000']);
    const sender: Sender = { lastSeq: 0, epoch: '', peak: 0 };
    await sendLargeMessages(serve.wsUrl, 'redis-small', 'y'.repeat(5_000), sender, 3, () => 0); // ~15 KB per run: only the last fits
    expect(await resumeReady(serve.wsUrl, 'redis-small', sender.epoch, 0)).toMatchObject({ resumed: false, reason: 'gap', lastSeq: 15 });
    expect(await resumeReady(serve.wsUrl, 'redis-small', sender.epoch, 10)).toMatchObject({ resumed: true, lastSeq: 15 });
  }, 60_000);
});
