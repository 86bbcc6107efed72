/**
 * A client that stops reading: the server stops writing at the high-water mark (congested),
 * keeps appending to the log, closes the client 1008 `slow consumer` once it lags more than
 * maxLagEvents — and the client can resume from the log and get every event.
 */
import { describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { eventsOf, startServer } from './harness.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { ReadyFrame } from '../../src/protocol/frames.js';

describe('backpressure', () => {
  it('a paused reader goes congested, is closed 1008 slow consumer, and resumes without loss', async () => {
    const EVENTS = 400;
    const payload = 'x'.repeat(32 * 1024);
    const log = new MemoryEventLog({ retainEvents: 2 * EVENTS, retainBytesPerUser: 256 * 1024 * 1024 });
    const h = await startServer({
      eventLog: log,
      limits: { highWaterMarkBytes: 256 * 1024, maxLagEvents: 100, closeTimeoutMs: 200 },
    });
    const reader = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.nora'] });
    await reader.untilType('ready');
    const { epoch } = reader.frames[0] as ReadyFrame;
    reader.ws.pause(); // stop reading: the kernel buffers fill, then ws's send buffer grows

    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < EVENTS; i++) h.server.sendToUser('nora', { i, payload }); // 2 events each: 800 events, ~26 MB of frames
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.log(`heap growth while pushing: ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);

    const closes = await h.server.metrics.registry.getSingleMetricAsString('lockstep_connections_closed_total');
    await h.server.close();
    const after = await h.server.metrics.registry.getSingleMetricAsString('lockstep_connections_closed_total');
    const congestions = await h.server.metrics.registry.getSingleMetricAsString('lockstep_congestions_total');
    expect(congestions).toMatch(/lockstep_congestions_total [1-9]/);
    expect(h.trace.some((e) => e.state === 'ready.congested')).toBe(true);
    expect(`${closes}\n${after}`).toContain('code="1008"');
    // Memory stays bounded: the log holds the events once (their payload string is shared),
    // and what was encoded for the socket stopped at the high-water mark plus what the kernel
    // took. Buffering the stream for the paused socket would cost more than all the frames'
    // bytes (~25 MiB); measured here: ~15 MiB, most of it frames the kernel accepted.
    expect(heapGrowth).toBeLessThan(EVENTS * 2 * payload.length);

    reader.ws.resume();
    await reader.closed;
    const seen = eventsOf(reader.frames);
    expect(seen.length).toBeLessThan(2 * EVENTS);
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));

    const b = await startServer({ eventLog: log });
    const lastSeq = seen.at(-1)?.seq ?? 0;
    const again = new TestClient(`${b.url}?epoch=${epoch}&lastSeq=${lastSeq}`, { protocols: ['lockstep.v1', 'lockstep.bearer.nora'] });
    await again.until(() => eventsOf(again.frames).length === 2 * EVENTS - lastSeq, 'the rest');
    expect(again.frames[0]).toMatchObject({ resumed: true });
    expect(eventsOf(again.frames).map((e) => e.seq)).toEqual(Array.from({ length: 2 * EVENTS - lastSeq }, (_, i) => lastSeq + 1 + i));
    await again.close();
    await b.server.close();
  });

  it('a tab congested during a long streamed answer is behind by log entries, not deltas: it catches up, not cut off', async () => {
    const h = await startServer({ limits: { highWaterMarkBytes: 64 * 1024, maxLagEvents: 100 } });
    const reader = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.nora'] });
    await reader.untilType('ready');
    reader.ws.pause();
    const run = h.server.startRun('nora');
    const sent: string[] = [];
    // Big deltas until the socket is congested (bounded: 2000 × 32 KiB), then 2,000 small ones.
    for (let i = 0; i < 2_000 && !h.trace.some((e) => e.state === 'ready.congested'); i++) {
      const delta = `${i}:${'y'.repeat(32 * 1024)}`;
      run.text(delta);
      sent.push(delta);
    }
    expect(h.trace.some((e) => e.state === 'ready.congested')).toBe(true);
    for (let i = 0; i < 2_000; i++) {
      run.text(`z${i} `);
      sent.push(`z${i} `);
    }
    run.complete();
    reader.ws.resume();
    await reader.until(() => eventsOf(reader.frames).some((e) => e.event === 'agent_completed'), 'the end of the run after the catch-up');
    // Every seq covered exactly once (a coalesced delta covers fromSeq..seq), the text byte-identical.
    const events = eventsOf(reader.frames);
    let next = 1;
    for (const e of events) {
      expect(e.fromSeq ?? e.seq).toBe(next);
      next = e.seq + 1;
    }
    expect(next - 1).toBe(sent.length + 2);
    expect(events.filter((e) => e.event === 'text_delta').map((e) => (e.data as { delta: string }).delta).join('')).toBe(sent.join(''));
    expect(events.some((e) => e.fromSeq !== undefined)).toBe(true);
    expect(reader.ws.readyState).toBe(reader.ws.OPEN);
    await reader.close();
    await h.server.close();
  });
});

