/**
 * Close-code accounting for the closes ws itself starts (issue 14 item 8): a raw TCP client
 * completes the upgrade by hand and sends one malformed WebSocket frame; ws closes with the
 * code RFC 6455 asks for, and /metrics (`lockstep_connections_closed_total{code}`) and the
 * `connection closed` log line must name that same code — not a blanket 1002.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startServer, type Harness } from './harness.js';
import { WS_ERROR_CLOSE_CODES } from '../../src/protocol/socket-errors.js';
import { within } from '../support/within.js';

const MAX_PAYLOAD = 64 * 1024;
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.server.close();
  harness = undefined;
});


/** One client frame, masked as a client must (unless `mask: false`). */
function frame(first: number, payload: Buffer, options: { mask?: boolean; length?: Buffer } = {}): Buffer {
  const mask = options.mask ?? true;
  const key = Buffer.from([1, 2, 3, 4]);
  let header: Buffer;
  if (options.length) header = Buffer.concat([Buffer.from([first, (mask ? 0x80 : 0) | 127]), options.length]);
  else if (payload.length < 126) header = Buffer.from([first, (mask ? 0x80 : 0) | payload.length]);
  else {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 126;
    header.writeUInt16BE(payload.length, 2);
  }
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([header, ...(mask ? [key, body] : [payload])]);
}

/** Upgrades a raw socket with dev token `user`; resolves once the 101 and the ready frame arrived. */
async function rawUpgrade(h: Harness, user: string): Promise<Socket> {
  const url = new URL(h.url);
  const socket = connect(Number(url.port), url.hostname);
  await within(once(socket, 'connect'), 5_000, 'TCP connect');
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${user}\r\n\r\n`,
  );
  let seen = '';
  await within(
    new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes('101 Switching Protocols') && seen.includes('"type":"ready"')) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    }),
    5_000,
    'the 101 response and the ready frame',
  );
  socket.on('error', () => {});
  return socket;
}

/** The close code in the server's close frame (the first close frame in what the socket read). */
async function closeCodeSent(socket: Socket): Promise<number> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await within(once(socket, 'close'), 5_000, 'the server to close the socket');
  const data = Buffer.concat(chunks);
  for (let i = 0; i + 3 < data.length; i += 1) {
    if (data[i] === 0x88) return data.readUInt16BE(i + 2);
  }
  throw new Error(`no close frame in ${data.toString('hex')}`);
}

const utf8 = (s: string) => Buffer.from(s);
const fragments = (n: number) =>
  Buffer.concat([frame(0x01, Buffer.alloc(0)), ...Array.from({ length: n }, () => frame(0x00, Buffer.alloc(0)))]);

const CASES: Array<[string, string, number, () => Buffer]> = [
  ['a frame over maxPayload', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, () => frame(0x81, Buffer.alloc(0), { length: Buffer.from([0, 0, 0, 0, 0, 2, 0, 0]) })],
  ['a length beyond 2^53 - 1', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1009, () => frame(0x81, Buffer.alloc(0), { length: Buffer.from([0, 0x20, 0, 0, 0, 0, 0, 0]) })],
  ['invalid UTF-8 in a text frame', 'WS_ERR_INVALID_UTF8', 1007, () => frame(0x81, Buffer.from([0xc3, 0x28]))],
  ['invalid UTF-8 in a close reason', 'WS_ERR_INVALID_UTF8', 1007, () => frame(0x88, Buffer.from([0x03, 0xe8, 0xff]))],
  ['more fragments than ws keeps', 'WS_ERR_TOO_MANY_BUFFERED_PARTS', 1008, () => fragments(16 * 1024 + 1)],
  ['an unknown opcode', 'WS_ERR_INVALID_OPCODE', 1002, () => frame(0x83, utf8('x'))],
  ['a continuation with nothing to continue', 'WS_ERR_INVALID_OPCODE', 1002, () => frame(0x80, utf8('x'))],
  ['RSV2 set', 'WS_ERR_UNEXPECTED_RSV_2_3', 1002, () => frame(0xa1, utf8('{}'))],
  ['RSV1 set without permessage-deflate', 'WS_ERR_UNEXPECTED_RSV_1', 1002, () => frame(0xc1, utf8('{}'))],
  ['an unmasked client frame', 'WS_ERR_EXPECTED_MASK', 1002, () => frame(0x81, utf8('{}'), { mask: false })],
  ['a fragmented ping', 'WS_ERR_EXPECTED_FIN', 1002, () => frame(0x09, utf8('x'))],
  ['a ping over 125 bytes', 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002, () => frame(0x89, Buffer.alloc(126, 0x61))],
  ['an invalid close code', 'WS_ERR_INVALID_CLOSE_CODE', 1002, () => frame(0x88, Buffer.from([0x03, 0xe7]))],
];

describe('close codes that ws sends are the codes lockstep records (metrics and logs)', () => {
  it('maps every WS_ERR_* code of ws lib/receiver.js to the close code ws sends with it', () => {
    const wsDir = dirname(createRequire(import.meta.url).resolve('ws/package.json'));
    const receiver = readFileSync(join(wsDir, 'lib', 'receiver.js'), 'utf8');
    // createError(ErrorCtor, message, prefix, statusCode, errorCode)
    const pairs = [...receiver.matchAll(/(\d{4}),\s*'(WS_ERR_[A-Z0-9_]+)'/g)].map((m) => [m[2]!, Number(m[1])] as const);
    expect(pairs.length).toBeGreaterThan(10);
    for (const [code, closeCode] of pairs) expect(WS_ERROR_CLOSE_CODES[code], code).toBe(closeCode);
    expect(new Set(Object.keys(WS_ERROR_CLOSE_CODES))).toEqual(new Set(pairs.map(([code]) => code)));
  });

  it.each(CASES)('%s (%s) → %i in the close frame, the metric and the log line', async (_what, wsCode, closeCode, bytes) => {
    const raw: string[] = [];
    let onClosedLine: () => void = () => {};
    const closedLine = new Promise<void>((resolve) => (onClosedLine = resolve));
    const logger = pino({ level: 'info' }, {
      write: (line: string) => {
        raw.push(line);
        if (line.includes('"msg":"connection closed"')) onClosedLine();
      },
    });
    harness = await startServer({ logger, maxPayload: MAX_PAYLOAD });
    const h = harness;
    const socket = await rawUpgrade(h, 'mallory');
    const sent = closeCodeSent(socket);
    socket.write(bytes());
    expect(await sent).toBe(closeCode);
    await within(closedLine, 5_000, 'the `connection closed` log line');
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(metrics, wsCode).toContain(`lockstep_connections_closed_total{code="${closeCode}"} 1`);
    const closed = raw.map((l) => JSON.parse(l) as { msg: string; code?: number }).filter((l) => l.msg === 'connection closed');
    expect(closed.map((l) => l.code)).toEqual([closeCode]);
  });
});
