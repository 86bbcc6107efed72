/**
 * Issue 14 item 3: SIGTERM must finish within drainMs + the documented close grace, whatever
 * sockets do. Attackers hold half-sent HTTP requests (headers never end; a POST body never
 * ends) on a real `lockstep serve` process; a bystander connected meanwhile is closed 1001.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../integration/client.js';
import { ServeProcess, within } from './attack-harness.js';

const DRAIN_MS = 500;
/** docs/operations.md "Shutdown": close() ends within drainMs + closeGraceMs (default 5000 ms). */
const CLOSE_GRACE_MS = 5_000;

async function rawSocket(port: number, bytes: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await within(once(socket, 'connect'), 5_000, 'the attacker TCP connect');
  socket.on('error', () => {});
  socket.write(bytes);
  return socket;
}

describe('slowloris during shutdown', () => {
  let serve: ServeProcess | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await serve?.kill();
  });

  it('exits 0 within drainMs + the close grace while half-sent requests are held; a bystander gets 1001', async () => {
    serve = await ServeProcess.start(['--drain-ms', String(DRAIN_MS)]);
    sockets.push(await rawSocket(serve.port, 'GET /ws HTTP/1.1\r\nHost: x\r\n'));
    sockets.push(await rawSocket(serve.port, 'POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc'));
    sockets.push(await rawSocket(serve.port, 'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'));
    const bystander = new TestClient(serve.wsUrl, { protocols: ['lockstep.v1', 'lockstep.bearer.bystander'] });
    await within(bystander.untilType('ready'), 10_000, 'the bystander ready frame');

    const started = Date.now();
    serve.child.kill('SIGTERM');
    const code = await within(serve.exited, DRAIN_MS + CLOSE_GRACE_MS + 3_000, 'lockstep serve to exit after SIGTERM');
    const elapsed = Date.now() - started;
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(DRAIN_MS + CLOSE_GRACE_MS + 1_000);
    const closed = await within(bystander.closed, 5_000, 'the bystander close');
    expect(closed.code).toBe(1001);
  }, 30_000);
});
