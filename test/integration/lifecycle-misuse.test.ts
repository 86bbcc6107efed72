/**
 * Issue 14 item 10: lifecycle misuse is answered with LockstepError codes that say what to
 * do — on real servers on loopback, not on a stand-in.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLockstepServer } from '../../src/server/create-server.js';
import { TestClient } from './client.js';
import { startServer } from './harness.js';

const codeOf = async (action: () => unknown): Promise<string | undefined> => {
  try {
    await action();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('lifecycle misuse', () => {
  it('listen() twice: LOCKSTEP_ERR_ALREADY_LISTENING; the first listen keeps serving', async () => {
    const h = await startServer();
    expect(await codeOf(() => h.server.listen())).toBe('LOCKSTEP_ERR_ALREADY_LISTENING');
    expect((await fetch(`${h.httpUrl}/health`)).status).toBe(200);
    await h.server.close();
  });

  it('listen() after close(): LOCKSTEP_ERR_SERVER_CLOSED, nothing listens', async () => {
    const server = createLockstepServer({ auth: 'dev', port: 0 });
    await server.close();
    expect(await codeOf(() => server.listen())).toBe('LOCKSTEP_ERR_SERVER_CLOSED');
    expect(server.httpServer.listening).toBe(false);
  });

  it('startRun/sendToUser with a missing or empty userId: LOCKSTEP_ERR_INVALID_ARGUMENT; after close: LOCKSTEP_ERR_SERVER_CLOSED', async () => {
    const h = await startServer();
    expect(await codeOf(() => h.server.sendToUser(undefined as never, { text: 'x' }))).toBe('LOCKSTEP_ERR_INVALID_ARGUMENT');
    expect(await codeOf(() => h.server.startRun(''))).toBe('LOCKSTEP_ERR_INVALID_ARGUMENT');
    expect(await codeOf(() => h.server.startRun(42 as never))).toBe('LOCKSTEP_ERR_INVALID_ARGUMENT');
    await h.server.close();
    expect(await codeOf(() => h.server.sendToUser('alice', { text: 'x' }))).toBe('LOCKSTEP_ERR_SERVER_CLOSED');
    expect(await codeOf(() => h.server.startRun('alice'))).toBe('LOCKSTEP_ERR_SERVER_CLOSED');
  });

  it('a second lockstep server on one http.Server: LOCKSTEP_ERR_SERVER_ATTACHED; the first keeps working; after close() one may attach again', async () => {
    const http = createServer();
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const port = (http.address() as AddressInfo).port;
    const first = createLockstepServer({ auth: 'dev', server: http });
    expect(await codeOf(() => createLockstepServer({ auth: 'dev', server: http }))).toBe('LOCKSTEP_ERR_SERVER_ATTACHED');
    const client = new TestClient(`ws://127.0.0.1:${port}/ws`, { protocols: ['lockstep.v1', 'lockstep.bearer.alice'] });
    await client.untilType('ready');
    await client.close();
    await first.close();
    const second = createLockstepServer({ auth: 'dev', server: http });
    await second.close();
    http.close();
  });

  it('close() ends within drainMs + closeGraceMs when a peer never answers the 1001 (forceClose)', async () => {
    // closeGraceMs below the connection's own closeTimeoutMs: only the server's grace can end it.
    const h = await startServer({ drainMs: 50, closeGraceMs: 200, limits: { closeTimeoutMs: 60_000 } });
    const ws = new WebSocket(h.url, ['lockstep.v1', 'lockstep.bearer.mute']);
    ws.on('error', () => {});
    await once(ws, 'open');
    // The peer stops reading: the server's close frame is never answered.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const started = Date.now();
    await h.server.close();
    expect(Date.now() - started).toBeLessThan(50 + 200 + 1_000);
    expect(h.server.liveConnections).toBe(0);
    ws.terminate();
  });
});
