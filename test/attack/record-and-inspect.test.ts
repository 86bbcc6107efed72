/**
 * Attacks on `lockstep serve --record DIR` (issue 14, item 1): a real server process, a hostile
 * client, a bystander that must lose nothing.
 * - An unauthenticated frame nested 20 000 deep: it used to overflow the stack in the trace
 *   redaction's JSON.stringify and kill the process.
 * - 90 messages of ~1 MiB on one recorded connection: the trace used to grow without bound and
 *   die in the sink (`Invalid string length`) at > 1.3 GB RSS. Now the trace stops at
 *   record.maxBytes (8 MiB) and says so; the file stays small.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestClient } from '../integration/client.js';
import { bystanderRoundTrips, ServeProcess, within } from './attack-harness.js';

const MiB = 1024 * 1024;

describe('attack: recording on (lockstep serve --record)', () => {
  let serve: ServeProcess | undefined;
  afterEach(async () => {
    await serve?.kill();
  });

  it('a frame nested 20 000 deep gets LOCKSTEP_E_FRAME_TOO_DEEP (4401 as the awaited auth frame); the server keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-attack-rec-'));
    serve = await ServeProcess.start(['--record', dir]);
    const deep = `{"type":"auth","token":"x","pad":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    // Unauthenticated: the first frame is awaited as auth and refused.
    const attacker = new TestClient(serve.wsUrl, { protocols: ['lockstep.v1'], onOpen: (ws) => ws.send(deep) });
    expect((await within(attacker.closed, 10_000, 'the attacker close')).code).toBe(4401);
    // Authenticated: the deep frame is a bad frame with its own code.
    const authed = new TestClient(serve.wsUrl, { protocols: ['lockstep.v1', 'lockstep.bearer.mallory'] });
    await within(authed.untilType('ready'), 10_000, 'mallory ready');
    authed.ws.send(deep);
    await within(authed.untilType('error'), 10_000, 'the error frame for the deep frame');
    expect(authed.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'LOCKSTEP_E_FRAME_TOO_DEEP' });
    await within(authed.close(), 5_000, 'mallory close');
    await bystanderRoundTrips(serve.wsUrl, 3);
    expect(serve.alive).toBe(true);
    expect(await serve.stop()).toBe(0);
    // Both traces were written, tokens redacted, the deep frame kept as it arrived otherwise.
    const traces = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(traces.length).toBeGreaterThanOrEqual(3);
    for (const file of traces) expect(readFileSync(join(dir, file), 'utf8')).not.toContain('"token":"x"');
  });

  it('90 messages of ~1 MiB on one recorded connection: RSS stays bounded, the trace stops at 8 MiB marked truncated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockstep-attack-rec-'));
    serve = await ServeProcess.start(['--record', dir]);
    const before = serve.rssBytes();
    const ws = new WebSocket(serve.wsUrl, ['lockstep.v1', 'lockstep.bearer.mallory']);
    await within(new Promise((resolve) => ws.once('open', resolve)), 10_000, 'the attacker open');
    const text = 'a'.repeat(MiB - 200);
    let acks = 0;
    let closeCode: number | undefined;
    const acked = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string };
        if (frame.type === 'ack' || frame.type === 'error') acks += 1;
        if (acks === 90) resolve();
      });
      // Rate-limited messages count as bad frames: enough of them close the connection 1008.
      ws.once('close', (code) => {
        closeCode = code;
        resolve();
      });
    });
    // Paced by the rate limit (burst 40): every message is answered (ack, or a rate-limit error).
    for (let i = 0; i < 90; i += 1) ws.send(JSON.stringify({ type: 'message', id: `big-${i}`, text }));
    await within(acked, 60_000, 'an answer to each of the 90 big messages, or an explicit close');
    if (process.env.LOCKSTEP_ATTACK_VERBOSE) console.log(`answers ${acks}, close ${String(closeCode)}`, serve.stderr.join('').split('\n').filter((l) => /closed|refused|over limit/.test(l)).join('\n'));
    if (closeCode === undefined) {
      ws.close();
      await within(new Promise((resolve) => ws.once('close', resolve)), 10_000, 'the attacker close');
    }
    await bystanderRoundTrips(serve.wsUrl, 3);
    expect(serve.alive).toBe(true);
    const grown = serve.rssBytes() - before;
    if (process.env.LOCKSTEP_ATTACK_VERBOSE) console.log(`RSS grew ${Math.round(grown / MiB)} MiB`);
    expect(await serve.stop()).toBe(0);
    if (process.env.LOCKSTEP_ATTACK_VERBOSE) console.log(serve.stderr.join('').split('\n').filter((l) => /mallory/.test(l) && /clos/.test(l)).join('\n'));
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const sizes = files.map((f) => statSync(join(dir, f)).size);
    const biggest = files[sizes.indexOf(Math.max(...sizes))]!;
    const trace = JSON.parse(readFileSync(join(dir, biggest), 'utf8')) as { truncated: boolean; truncatedBy?: string };
    expect(trace).toMatchObject({ truncated: true, truncatedBy: 'maxBytes' });
    // 8 MiB of trace, plus the line layout.
    expect(Math.max(...sizes)).toBeLessThan(8 * MiB + 64 * 1024);
    // Retention of the 1 MiB echoes is another bound (issue 14 item 7); the trace adds at most 8 MiB.
    // Before the fix the process passed 1.3 GB and died.
    expect(grown).toBeLessThan(600 * MiB);
  }, 120_000);
});
