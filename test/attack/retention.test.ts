/**
 * Retention in bytes (issue 14 item 7) against a real `lockstep serve`: two users each send 100
 * messages of ~1 MiB. The demo agent echoes the text into three of its events, so each message
 * would retain ~3 MiB — 600 MiB for both users if retention were only counted in events. The
 * in-memory log keeps at most retainBytesPerUser (8 MiB default) per user, so the server's RSS
 * stays bounded, a resume from seq 0 afterwards is told `gap`, and a bystander loses nothing.
 */
import { once } from 'node:events';
import { afterEach, beforeEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bystanderRoundTrips, ServeProcess, within } from './attack-harness.js';

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

interface Sender { lastSeq: number; epoch: string; peakRss: number }

/**
 * A reading client that keeps only counters (not the frames: they are hundreds of MiB): sends
 * each message after the previous run completed, so it stays far under the rate limits.
 */
async function sendLargeMessages(user: string, text: string, sender: Sender, count = MESSAGES_PER_USER): Promise<void> {
  const ws = new WebSocket(serve.wsUrl, ['lockstep.v1', `lockstep.bearer.${user}`], { maxPayload: 16 * MiB });
  let waiter: { what: (frame: Record<string, unknown>) => boolean; resolve: () => void } | undefined;
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    if (frame.type === 'ready') sender.epoch = frame.epoch as string;
    if (frame.type === 'event') sender.lastSeq = frame.seq as number;
    if (frame.type === 'error') throw new Error(`${user} got ${data.toString().slice(0, 200)}`);
    if (waiter?.what(frame)) waiter.resolve();
  });
  const until = (what: (frame: Record<string, unknown>) => boolean, label: string) =>
    within(new Promise<void>((resolve) => { waiter = { what, resolve }; }), 20_000, label);
  const ready = until((f) => f.type === 'ready', `${user} ready`);
  await within(once(ws, 'open'), 10_000, `${user} upgrade`);
  await ready;
  for (let i = 1; i <= count; i += 1) {
    const completed = until((f) => f.type === 'event' && f.event === 'agent_completed', `${user} run of message ${i}`);
    ws.send(JSON.stringify({ type: 'message', id: `${user}-${i}`, text }));
    await completed;
    sender.peakRss = Math.max(sender.peakRss, serve.rssBytes());
  }
  ws.close();
  await within(once(ws, 'close'), 5_000, `${user} close`);
}

/** The `ready` frame of a connection that resumes `user` from `lastSeq`. */
async function resumeReady(user: string, epoch: string, lastSeq: number): Promise<Record<string, unknown>> {
  const url = `${serve.wsUrl}?epoch=${epoch}&lastSeq=${lastSeq}`;
  const ws = new WebSocket(url, ['lockstep.v1', `lockstep.bearer.${user}`], { maxPayload: 64 * MiB });
  const ready = within(
    new Promise<Record<string, unknown>>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        if (frame.type === 'ready') resolve(frame);
      });
    }),
    10_000,
    `${user} resume ready`,
  );
  const frame = await ready;
  ws.close();
  await within(once(ws, 'close'), 5_000, `${user} resume close`);
  return frame;
}

it('2 users × 100 messages of ~1 MiB: RSS stays bounded, resume from seq 0 is a gap, a bystander loses nothing', async () => {
  const before = serve.rssBytes();
  const text = 'x'.repeat(TEXT_CHARS);
  const senders: Sender[] = [{ lastSeq: 0, epoch: '', peakRss: 0 }, { lastSeq: 0, epoch: '', peakRss: 0 }];
  await Promise.all([
    sendLargeMessages('big-a', text, senders[0]!),
    sendLargeMessages('big-b', text, senders[1]!),
    bystanderRoundTrips(serve.wsUrl, 20),
  ]);
  const growth = Math.max(...senders.map((s) => s.peakRss), serve.rssBytes()) - before;
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
  const sender: Sender = { lastSeq: 0, epoch: '', peakRss: 0 };
  await sendLargeMessages('small', 'y'.repeat(5_000), sender, 3); // ~15 KB per run: only the last run fits
  expect(await resumeReady('small', sender.epoch, 0)).toMatchObject({ resumed: false, reason: 'gap', lastSeq: 15 });
  expect(await resumeReady('small', sender.epoch, 10)).toMatchObject({ resumed: true, lastSeq: 15 });
}, 60_000);
