/**
 * lockstep attached to a plain node:http server, next to the application's own routes.
 * lockstep takes the upgrades on /ws and /websocket and serves GET /health and GET /metrics
 * through `handleRequest`; every other request stays yours.
 *
 *   npm install lockstep pino && node node-http.js      (PORT=0 picks a free port)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createLockstepServer } from 'lockstep';
import { announce, answerAgent, devAuthUnlessSecret } from './agent.js';

const http = createServer((req, res) => {
  if (lockstep.handleRequest(req, res)) return; // GET /health, GET /metrics
  if (req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from your app\n');
    return;
  }
  res.writeHead(404);
  res.end();
});

const lockstep = createLockstepServer({
  server: http, // attach: lockstep listens to this server's `upgrade` events
  handler: answerAgent,
  auth: devAuthUnlessSecret(),
  ready: async () => {}, // your backend's readiness, awaited in every handshake (reject → 1013)
  logger: pino({ level: process.env.LOG_LEVEL ?? 'info' }),
});

http.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  announce((http.address() as AddressInfo).port, '/ws');
});

// Drain first (runs finish, sockets close with 1001), then stop accepting HTTP.
process.once('SIGTERM', () => {
  void lockstep.close().then(() => {
    http.close(() => process.exit(0));
    http.closeIdleConnections();
  });
});
