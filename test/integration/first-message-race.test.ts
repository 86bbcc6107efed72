/**
 * The race lockstep exists to close: 200 clients each send `auth` and a `message` inside
 * their `open` callback while the backend is still warming up (ready after 50 ms). Every
 * client must get `ready`, then `ack`, then the run's five events in order — and the server
 * trace must show the handler never ran for a connection before it reached `ready` (I1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import { TestClient } from './client.js';
import { RUN_EVENTS, eventsOf, startServer, type Harness } from './harness.js';

const CLIENTS = 200;

describe('first message race (I1, I3, I4, I10)', () => {
  let h: Harness;
  beforeAll(async () => {
    // The backend stands for a real dependency that becomes ready 50 ms after start; the
    // timer orders nothing: handshakes wait on the promise.
    const backendReady = delay(50).then(() => undefined);
    h = await startServer({ ready: () => backendReady });
  });
  afterAll(async () => {
    await h.server.close();
  });

  it(`${CLIENTS} clients sending in their open callback all get ready, ack, then the run in order`, async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) =>
      new TestClient(h.url, {
        protocols: ['lockstep.v1'],
        onOpen: (ws) => {
          ws.send(JSON.stringify({ type: 'auth', token: `user-${i}` }));
          ws.send(JSON.stringify({ type: 'message', id: `m-${i}`, text: `hello ${i}` }));
        },
      }),
    );
    await Promise.all(clients.map((c) => c.untilFrames(7)));

    clients.forEach((client, i) => {
      const [ready, ack, ...rest] = client.frames;
      expect(ready).toMatchObject({ type: 'ready', userId: `user-${i}`, lastSeq: 0, resumed: false });
      expect(ack).toMatchObject({ type: 'ack', id: `m-${i}` });
      const events = eventsOf(rest);
      expect(events.map((e) => e.event)).toEqual(RUN_EVENTS);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(events.map((e) => e.runId))).toEqual(new Set([ack?.type === 'ack' ? ack.runId : '']));
      expect(events.at(-1)?.data).toEqual({ text: `echo: hello ${i}` });
      expect(client.ws.protocol).toBe('lockstep.v1');
    });

    // The server-side trace: every handler start came after its connection's `ready`.
    const readyAt = new Map<string, number>();
    h.trace.forEach((entry, index) => {
      if (entry.kind === 'state' && entry.state === 'ready' && !readyAt.has(entry.connectionId)) {
        readyAt.set(entry.connectionId, index);
      }
    });
    const handlerEntries = h.trace.map((e, index) => ({ e, index })).filter(({ e }) => e.kind === 'handler');
    expect(handlerEntries).toHaveLength(CLIENTS);
    for (const { e, index } of handlerEntries) {
      expect(e.state).toBe('ready');
      expect(readyAt.get(e.connectionId)).toBeLessThan(index);
    }

    // Frames really did arrive early and were held, not dropped.
    const metrics = await h.server.metrics.registry.getSingleMetricAsString('lockstep_frames_held_before_ready_total');
    const held = Number(/ (\d+)$/m.exec(metrics)?.[1]);
    expect(held).toBeGreaterThan(0);

    await Promise.all(clients.map((c) => c.close()));
    await h.server.close();
    expect(h.server.liveConnections).toBe(0);
  });
});
