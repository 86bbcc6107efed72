/**
 * lockstep inside a fastify app with @fastify/websocket: fastify owns the upgrade and the
 * routes, lockstep runs the protocol on the sockets of one route. fastify's pino logger is
 * lockstep's logger too.
 *
 *   npm install lockstep fastify @fastify/websocket && node fastify.js   (PORT=0: a free port)
 */
import type { AddressInfo } from 'node:net';
import websocket from '@fastify/websocket';
import Fastify from 'fastify';
import { createLockstepServer } from 'lockstep';
import { announce, answerAgent, devAuthUnlessSecret } from './agent.js';

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } });
// No `server` option: lockstep is handed sockets fastify already upgraded.
const lockstep = createLockstepServer({ handler: answerAgent, auth: devAuthUnlessSecret(), logger: app.log });

// lockstep's payload limit and subprotocol choice (the bearer token is never echoed back).
await app.register(websocket, { options: lockstep.webSocketOptions });

// Synchronously in the handler: ws drops frames that arrive before a listener exists.
app.get('/ws', { websocket: true }, (socket, request) => lockstep.handleConnection(socket, request.raw));
app.get('/hello', async () => ({ hello: 'from your fastify app' }));
for (const path of ['/health', '/metrics']) {
  app.get(path, (request, reply) => {
    reply.hijack(); // lockstep writes the raw response
    lockstep.handleRequest(request.raw, reply.raw);
  });
}

await app.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' });
announce((app.server.address() as AddressInfo).port, '/ws');

// Drain lockstep first (runs finish, sockets close with 1001), then close fastify.
process.once('SIGTERM', () => {
  void lockstep.close().then(() => app.close()).then(() => process.exit(0));
});
