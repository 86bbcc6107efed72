/** Files the consumer test writes into its fresh projects. */

/**
 * A strict consumer tsconfig; `types` lists the @types packages the project may see, `dom`
 * adds the browser's globals (a browser project: xstate's own types need AbortSignal).
 */
export function consumerTsconfig(types: string[], dom = false): string {
  return JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: dom ? ['ES2023', 'DOM'] : ['ES2023'],
        strict: true,
        // Off: the packed .d.ts themselves are type-checked, not only what the code touches.
        skipLibCheck: false,
        types,
        outDir: 'out',
      },
      include: ['*.ts'],
    },
    null,
    2,
  );
}

/** Every exports entry, used through its types: a missing or broken .d.ts fails to compile. */
export const ENTRIES_TS = `
import { createLockstepServer, ErrorCodes, type LockstepServer, type LockstepServerOptions } from 'lockstep';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from 'lockstep/machines';
import { checkStreamHistory } from 'lockstep/testing';
import { createLockstepClient, type LockstepClient } from 'lockstep/client';

const options: LockstepServerOptions = { port: 0, limits: { authTimeoutMs: 1000 } };
const limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS;
export const checks: Array<unknown> = [createLockstepServer, options, limits, connectionMachine.id, ErrorCodes, checkStreamHistory, createLockstepClient];
export type Client = LockstepClient;
export type Server = LockstepServer;
`;

/** Compiled as a browser project, with no @types at all: the machines' types need neither Node nor ws. */
export const MACHINES_ONLY_TS = `
import { connectionMachine, type ConnectionInput } from 'lockstep/machines';
export const input: ConnectionInput = { connectionId: 'c1', token: 'alice', limits: { authTimeoutMs: 1, backendTimeoutMs: 1, joinTimeoutMs: 1, heartbeatMs: 1, closeTimeoutMs: 1, maxEarlyFrames: 1, maxBadFrames: 1, messageRate: 1, messageBurst: 1, highWaterMarkBytes: 1, maxLagEvents: 1, maxOutgoingBytes: 1, maxEarlyBytes: 1, maxEarlyBytesTotal: 1, userMessageRate: 1, userMessageBurst: 1 } };
export const machineId: string = connectionMachine.id;
`;

/**
 * A module hook that refuses \`ws\` and every Node built-in: what loads under it would load in
 * a browser bundle or in Stately's tooling.
 */
export const FORBID_NODE_HOOK = `
import { register } from 'node:module';
const hooks = \`
import { isBuiltin } from 'node:module';
export async function resolve(specifier, context, next) {
  if (specifier === 'ws' || specifier.startsWith('ws/') || isBuiltin(specifier)) {
    throw new Error('forbidden import: ' + specifier + ' from ' + context.parentURL);
  }
  return next(specifier, context);
}\`;
register('data:text/javascript,' + encodeURIComponent(hooks));
`;

/** Starts one actor of each machine and prints its first state. */
export const MACHINES_ONLY_MJS = `
import { createActor } from 'xstate';
import { agentRunMachine, connectionMachine, DEFAULT_CONNECTION_LIMITS, serverLifecycleMachine } from 'lockstep/machines';
const top = (actor) => { const v = actor.getSnapshot().value; return typeof v === 'string' ? v : Object.keys(v)[0]; };
const connection = createActor(connectionMachine, { input: { connectionId: 'c1', token: undefined, limits: DEFAULT_CONNECTION_LIMITS } }).start();
const agentRun = createActor(agentRunMachine, { input: { runId: 'r1' } }).start();
const serverLifecycle = createActor(serverLifecycleMachine, { input: { drainMs: 10 } }).start();
console.log(JSON.stringify({ connection: top(connection), agentRun: top(agentRun), serverLifecycle: top(serverLifecycle) }));
for (const actor of [connection, agentRun, serverLifecycle]) actor.stop();
`;

/** Compiled as a browser project (DOM lib, no @types): the client's types need neither Node nor ws. */
export const CLIENT_ONLY_TS = `
import { createLockstepClient, localStorageStorage, type ClientRun, type LockstepClientOptions } from 'lockstep/client';
export const options: LockstepClientOptions = { url: 'wss://chat.example/ws', token: 't', storage: localStorageStorage(), WebSocket };
export const create = () => createLockstepClient(options);
export const status = (run: ClientRun): string => run.status;
`;

/**
 * Refuses what a browser bundle of lockstep/client must not contain: ws, Node built-ins, and
 * lockstep's server side (server, adapter, delivery, agent, cli, trace, inspect, testing).
 */
export const CLIENT_FORBID_HOOK = `
import { register } from 'node:module';
const hooks = \`
import { isBuiltin } from 'node:module';
const serverSide = ['server', 'adapter', 'delivery', 'agent', 'cli', 'trace', 'inspect', 'testing'].map((dir) => '/lockstep/dist/src/' + dir + '/');
export async function resolve(specifier, context, next) {
  if (['ws', 'ioredis', 'jose', 'pino', 'prom-client'].includes(specifier) || specifier.startsWith('ws/') || isBuiltin(specifier)) {
    throw new Error('forbidden import: ' + specifier + ' from ' + context.parentURL);
  }
  const resolved = await next(specifier, context);
  if (serverSide.some((part) => resolved.url.includes(part))) throw new Error('forbidden import: ' + resolved.url + ' from ' + context.parentURL);
  return resolved;
}\`;
register('data:text/javascript,' + encodeURIComponent(hooks));
`;

/** lockstep/client with a stand-in WebSocket: connect, ready, send, ack, a whole run; prints what it saw. */
export const CLIENT_ONLY_MJS = `
import { createLockstepClient, memoryStorage } from 'lockstep/client';
const sockets = [];
class FakeSocket {
  constructor(url, protocols) { this.url = url; this.protocols = protocols; this.readyState = 0; this.sent = []; sockets.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
}
const storage = memoryStorage();
const client = createLockstepClient({ url: 'ws://x/ws', token: 'alice', storage, WebSocket: FakeSocket });
const socket = sockets[0];
socket.readyState = 1;
socket.onopen({});
const frame = (f) => socket.onmessage({ data: JSON.stringify(f) });
frame({ type: 'ready', userId: 'alice', connectionId: 'c', epoch: 'e', lastSeq: 0, resumed: false });
const id = client.send('hi');
frame({ type: 'ack', id, runId: 'c.1' });
const events = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];
events.forEach((event, i) => frame({ type: 'event', seq: i + 1, runId: 'c.1', event, data: event === 'agent_completed' ? { text: 'echo: hi' } : { toolCallId: 't' }, ts: 0 }));
const run = client.runs[0];
client.close();
console.log(JSON.stringify({ state: client.state, protocols: socket.protocols, sent: socket.sent.map((f) => f.type), run: { status: run.status, text: run.text, events: run.events.length }, stored: storage.size }));
`;

/** lockstep/client in Node with ws, against a running example: one message, its whole run. Prints the run. */
export const CLIENT_WS_MJS = `
import WebSocket from 'ws';
import { createLockstepClient } from 'lockstep/client';
const client = createLockstepClient({ url: process.argv[2], token: 'alice', WebSocket });
client.send('hi');
const timer = setTimeout(() => { console.error('timed out waiting for the run'); process.exit(1); }, 10000);
client.on('run', (run) => {
  if (run.status !== 'completed') return;
  clearTimeout(timer);
  client.close();
  console.log(JSON.stringify({ status: run.status, text: run.text, events: run.events.map((e) => e.event) }));
});
`;
