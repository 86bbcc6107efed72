/**
 * A client of the retention attacks: a user sending large messages one run at a time (it keeps
 * only counters, never the frames: they are hundreds of MiB), and a resume that reads only the
 * `ready` frame. Shared by the in-memory and the Redis retention attacks.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { within } from './attack-harness.js';

const MiB = 1024 * 1024;

export interface Sender { lastSeq: number; epoch: string; peak: number }

/**
 * Sends `count` messages of `text` as `user`, each after the previous run completed (so it stays
 * far under the rate limits); `sample()` is read after every run and its maximum kept in `peak`.
 */
export async function sendLargeMessages(wsUrl: string, user: string, text: string, sender: Sender, count: number, sample: () => number | Promise<number>): Promise<void> {
  const ws = new WebSocket(wsUrl, ['lockstep.v1', `lockstep.bearer.${user}`], { maxPayload: 16 * MiB });
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
    sender.peak = Math.max(sender.peak, await sample());
  }
  ws.close();
  await within(once(ws, 'close'), 5_000, `${user} close`);
}

/** The `ready` frame of a connection that resumes `user` from `lastSeq`. */
export async function resumeReady(wsUrl: string, user: string, epoch: string, lastSeq: number): Promise<Record<string, unknown>> {
  const ws = new WebSocket(`${wsUrl}?epoch=${epoch}&lastSeq=${lastSeq}`, ['lockstep.v1', `lockstep.bearer.${user}`], { maxPayload: 64 * MiB });
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
