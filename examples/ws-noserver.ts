/**
 * lockstep behind an existing `ws` WebSocketServer in noServer mode: the application already
 * routes upgrades itself (here `/echo` is its own endpoint) and hands the sockets of `/chat`
 * to lockstep.
 *
 *   npm install lockstep ws && node ws-noserver.js      (PORT=0 picks a free port)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { createLockstepServer } from 'lockstep';
import { announce, answerAgent, devAuthUnlessSecret } from './agent.js';

// No `server` option: lockstep only runs the protocol on sockets it is handed.
const lockstep = createLockstepServer({ handler: answerAgent, auth: devAuthUnlessSecret() });

// The application's existing WebSocket server, with lockstep's payload limit and subprotocol choice.
const wss = new WebSocketServer({ noServer: true, ...lockstep.webSocketOptions });

function echo(ws: WebSocket): void {
  ws.on('message', (data) => ws.send(`echo: ${data.toString()}`));
}

const http = createServer((req, res) => {
  if (lockstep.handleRequest(req, res)) return; // GET /health, GET /metrics
  res.writeHead(404);
  res.end();
});

http.on('upgrade', (req, socket, head) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/echo') {
    wss.handleUpgrade(req, socket, head, echo);
  } else if (path === '/chat') {
    // handleConnection attaches lockstep's listeners synchronously, before any frame is read.
    wss.handleUpgrade(req, socket, head, (ws) => lockstep.handleConnection(ws, req));
  } else {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
});

http.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  announce((http.address() as AddressInfo).port, '/chat');
});

process.once('SIGTERM', () => {
  void lockstep.close().then(() => {
    for (const ws of wss.clients) ws.close(1001);
    http.close(() => process.exit(0));
    http.closeIdleConnections();
  });
});
