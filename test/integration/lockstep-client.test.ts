/**
 * The demo page's client (public/lockstep-client.js) in Node, over real sockets: `ws` stands
 * in for the browser's WebSocket (same event-handler API). Covers what the browser test
 * cannot provoke on demand: a message sent while disconnected, and a refused resume.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { createLockstepClient, type LockstepClient, type LockstepClientHandlers } from '../../public/lockstep-client.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { AckFrame, EventFrame, ReadyFrame } from '../../src/protocol/frames.js';
import { startServer, type Harness } from './harness.js';

type Impl = Parameters<typeof createLockstepClient>[0]['WebSocketImpl'];

/** Records what the client reports; `until` resolves when a condition over the record holds. */
function recorder() {
  const readies: Array<{ ready: ReadyFrame; asked: unknown }> = [];
  const events: EventFrame[] = [];
  const acks: AckFrame[] = [];
  const closes: number[] = [];
  const waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) if (w.test()) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const handlers: LockstepClientHandlers = {
    onReady: (ready, asked) => { readies.push({ ready, asked }); check(); },
    onEvent: (event) => { events.push(event); check(); },
    onAck: (ack) => { acks.push(ack); check(); },
    onClose: ({ code }) => { closes.push(code); check(); },
  };
  const until = (test: () => boolean) => new Promise<void>((resolve) => (test() ? resolve() : waiters.push({ test, resolve })));
  return { handlers, readies, events, acks, closes, until };
}

describe('demo page client (public/lockstep-client.js)', () => {
  let harness: Harness | undefined;
  let client: LockstepClient | undefined;
  afterEach(async () => {
    client?.close();
    await harness?.server.close();
  });

  function track(h: Harness): Socket[] {
    const sockets: Socket[] = [];
    h.server.httpServer.prependListener('upgrade', (_req, socket: Socket) => sockets.push(socket));
    return sockets;
  }

  it('sends a message typed while disconnected once it is back, and it runs once', async () => {
    harness = await startServer();
    const sockets = track(harness);
    const r = recorder();
    client = createLockstepClient({ url: harness.url, token: 'dana', handlers: r.handlers, backoff: { baseMs: 20 }, WebSocketImpl: WebSocket as unknown as Impl });
    await r.until(() => r.readies.length === 1);

    for (const socket of sockets) socket.destroy();
    await r.until(() => r.closes.length === 1);
    client.sendMessage('m-offline', 'sent while away');
    await r.until(() => r.events.some((e) => e.event === 'agent_completed'));

    expect(r.readies).toHaveLength(2);
    expect(r.readies[1]).toMatchObject({ ready: { resumed: true }, asked: { lastSeq: 0 } });
    expect(r.acks.map((a) => a.id)).toEqual(['m-offline']);
    expect(r.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports a refused resume with its reason, and continues live from the stream head', async () => {
    harness = await startServer({ eventLog: new MemoryEventLog({ retainEvents: 3 }) });
    const sockets = track(harness);
    const r = recorder();
    client = createLockstepClient({ url: harness.url, token: 'eve', handlers: r.handlers, backoff: { baseMs: 20 }, WebSocketImpl: WebSocket as unknown as Impl });
    await r.until(() => r.readies.length === 1);
    harness.server.sendToUser('eve', { text: 'one' });
    await r.until(() => r.events.length === 2);

    // While the client is away, more events than the log retains: the resume cannot be complete.
    for (const socket of sockets) socket.destroy();
    for (let i = 0; i < 3; i += 1) harness.server.sendToUser('eve', { text: `missed ${i}` });
    await r.until(() => r.readies.length === 2);
    expect(r.readies[1]).toMatchObject({ ready: { resumed: false, reason: 'gap', lastSeq: 8 }, asked: { lastSeq: 2 } });

    harness.server.sendToUser('eve', { text: 'live' });
    await r.until(() => r.events.length === 4);
    expect(r.events.slice(2).map((e) => e.seq)).toEqual([9, 10]);
  });
});
