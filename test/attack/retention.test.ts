/**
 * Retention in bytes (issue 14 item 7) against a real `lockstep serve`: two users each send 100
 * messages of ~1 MiB. The demo agent echoes the text into three of its events, so each message
 * would retain ~3 MiB — 600 MiB for both users if retention were only counted in events. The
 * in-memory log keeps at most retainBytesPerUser (8 MiB default) per user, so the server's RSS
 * stays bounded, a resume from seq 0 afterwards is told `gap`, and a bystander loses nothing.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { bystanderRoundTrips, ServeProcess } from './attack-harness.js';
import { resumeReady as resumeAt, sendLargeMessages as sendTo, type Sender } from './large-messages.js';

const MiB = 1024 * 1024;
/** Just under maxPayload (1 MiB) once framed as a message. */
const TEXT_CHARS = MiB - 512;
const MESSAGES_PER_USER = 100;
/**
 * Two users × 8 MiB retained, plus in-flight frames and buffers, plus the garbage V8 has not
 * returned yet (RSS is noisy while other test files load the machine). The server also runs
 * with a 256 MiB old-space cap: the ~600 MiB an unbounded log would retain cannot fit there,
 * so without the byte bound the process dies of heap exhaustion, whatever RSS shows.
 */
const RSS_GROWTH_BOUND = 400 * MiB;
const HEAP_CAP = { NODE_OPTIONS: '--max-old-space-size=256' };

let serve: ServeProcess;
beforeEach(async () => {
  serve = await ServeProcess.start(['--log-level', 'warn'], HEAP_CAP);
});
afterEach(async () => {
  await serve.kill();
});

const sendLargeMessages = (user: string, text: string, sender: Sender, count = MESSAGES_PER_USER) =>
  sendTo(serve.wsUrl, user, text, sender, count, () => serve.rssBytes());
const resumeReady = (user: string, epoch: string, lastSeq: number) => resumeAt(serve.wsUrl, user, epoch, lastSeq);

it('2 users × 100 messages of ~1 MiB: RSS stays bounded, resume from seq 0 is a gap, a bystander loses nothing', async () => {
  const before = serve.rssBytes();
  const text = 'x'.repeat(TEXT_CHARS);
  const senders: Sender[] = [{ lastSeq: 0, epoch: '', peak: 0 }, { lastSeq: 0, epoch: '', peak: 0 }];
  await Promise.all([
    sendLargeMessages('big-a', text, senders[0]!),
    sendLargeMessages('big-b', text, senders[1]!),
    bystanderRoundTrips(serve.wsUrl, 20),
  ]);
  const growth = Math.max(...senders.map((s) => s.peak), serve.rssBytes()) - before;
  expect(growth, `RSS grew by ${(growth / MiB).toFixed(0)} MiB`).toBeLessThan(RSS_GROWTH_BOUND);
  expect(senders[0]!.lastSeq).toBe(MESSAGES_PER_USER * 5);
  const resumed = await resumeReady('big-a', senders[0]!.epoch, 0);
  expect(resumed).toMatchObject({ resumed: false, reason: 'gap', lastSeq: MESSAGES_PER_USER * 5 });
  // The newest events are still retained: a resume from just before the last run is honoured.
  const recent = await resumeReady('big-b', senders[1]!.epoch, MESSAGES_PER_USER * 5 - 1);
  expect(recent).toMatchObject({ resumed: true });
  await bystanderRoundTrips(serve.wsUrl, 3, 'bystander-after');
  expect(serve.alive).toBe(true);
}, 180_000);

it('--retain-bytes-per-user sets the per-user byte bound; a bound that is not a positive integer exits before listening', async () => {
  await serve.kill();
  await expect(ServeProcess.start(['--retain-bytes-per-user', '0'])).rejects.toThrow(/exited/);
  serve = await ServeProcess.start(['--retain-bytes-per-user', '20000', '--retain-bytes-total', '1000000']);
  const sender: Sender = { lastSeq: 0, epoch: '', peak: 0 };
  await sendLargeMessages('small', 'y'.repeat(5_000), sender, 3); // ~15 KB per run: only the last run fits
  expect(await resumeReady('small', sender.epoch, 0)).toMatchObject({ resumed: false, reason: 'gap', lastSeq: 15 });
  expect(await resumeReady('small', sender.epoch, 10)).toMatchObject({ resumed: true, lastSeq: 15 });
}, 60_000);
