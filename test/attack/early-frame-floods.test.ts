/**
 * Early frames during a backend warm-up (issue 14 item 7) against a real `lockstep serve
 * --backend-delay-ms`: three connections each try to park 256 frames of ~1 MiB before `ready`.
 * Before byte bounds that held +560 MiB; now each connection holds at most maxEarlyBytes
 * (1 MiB) and is closed 1008 on the next frame, the RSS stays bounded, and a bystander that
 * connected during the warm-up is served in full once the backend is ready.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../integration/client.js';
import { bystanderRoundTrips, ServeProcess, within } from './attack-harness.js';

const MiB = 1024 * 1024;
let serve: ServeProcess | undefined;
afterEach(async () => {
  await serve?.kill();
});

describe('early frames are bounded in bytes during a backend warm-up', () => {
  it('3 connections × 256 frames of ~1 MiB before ready: each closed 1008, RSS bounded, bystander served after warm-up', async () => {
    serve = await ServeProcess.start(['--backend-delay-ms', '8000']);
    const s = serve;
    const before = s.rssBytes();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, s.rssBytes())), 50);
    try {
      const bystander = bystanderRoundTrips(s.wsUrl, 3);
      const frame = JSON.stringify({ type: 'message', id: 'early', text: 'x'.repeat(MiB - 100) });
      const attackers = [1, 2, 3].map((n) => new TestClient(s.wsUrl, { protocols: ['lockstep.v1', `lockstep.bearer.hoarder${n}`] }));
      const closes = await within(
        Promise.all(
          attackers.map(async (c) => {
            await c.opened;
            let closed = false;
            void c.closed.then(() => (closed = true));
            for (let i = 0; i < 256 && !closed; i += 1) {
              c.send(frame);
              // At the server's reading pace: wait for the client's socket to drain the frame.
              await new Promise<void>((resolve) => c.ws.send('', () => resolve()));
            }
            return c.closed;
          }),
        ),
        20_000,
        'the three hoarders to be closed',
      );
      for (const close of closes) expect(close, JSON.stringify(closes)).toEqual({ code: 1008, reason: 'too many frames before ready' });
      await within(bystander, 30_000, 'the bystander after the warm-up');
      const growth = peak - before;
      console.log(`[attack] early-frame hoarders: server RSS +${(growth / MiB).toFixed(1)} MiB`);
      expect(growth).toBeLessThan(64 * MiB);
      expect(s.alive).toBe(true);
    } finally {
      clearInterval(sampler);
    }
  }, 60_000);
});
