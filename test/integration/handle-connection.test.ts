/**
 * `handleConnection`: sockets upgraded by the embedder's own ws server. Frames sent right
 * after the upgrade are not lost, and during `close()` a handed-over socket closes 1001.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createLockstepServer, type LockstepServer } from '../../src/server/create-server.js';
import { TestClient } from './client.js';
import { RUN_EVENTS, deferred, eventsOf } from './harness.js';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function embed(lockstep: LockstepServer): Promise<string> {
  const wss = new WebSocketServer({ noServer: true, ...lockstep.webSocketOptions });
  const http = createServer();
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => lockstep.handleConnection(ws, req)));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanup.push(async () => {
    await lockstep.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/anything`;
}

describe('handleConnection', () => {
  it('runs the protocol on a socket upgraded elsewhere, frames sent at open included', async () => {
    const lockstep = createLockstepServer({ auth: 'dev' });
    const url = await embed(lockstep);
    const client = new TestClient(url, {
      protocols: ['lockstep.v1', 'lockstep.bearer.ana'],
      onOpen: (ws) => ws.send(JSON.stringify({ type: 'message', id: 'm1', text: 'hi' })),
    });
    await client.until(() => eventsOf(client.frames).length === RUN_EVENTS.length, 'run');
    expect(client.ws.protocol).toBe('lockstep.v1');
    expect(client.frames.slice(0, 2).map((f) => f.type)).toEqual(['ready', 'ack']);
    await client.close();
  });

  it('closes a socket handed over during close() with 1001', async () => {
    const gate = deferred();
    const lockstep = createLockstepServer({
      auth: 'dev',
      handler: async (_message, run) => {
        await gate.promise;
        run.complete({});
      },
    });
    const url = await embed(lockstep);
    const busy = new TestClient(url, { protocols: ['lockstep.v1', 'lockstep.bearer.ana'] });
    await busy.untilType('ready');
    busy.send({ type: 'message', id: 'm1', text: 'slow' });
    await busy.untilType('ack');
    const closing = lockstep.close(); // draining while the run is in flight
    const late = new TestClient(url, { protocols: ['lockstep.v1', 'lockstep.bearer.ana'] });
    expect(await late.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    gate.resolve();
    await closing;
    expect((await busy.closed).code).toBe(1001);
    expect(lockstep.liveConnections).toBe(0);
  });
});
