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

/**
 * The tsconfig.json examples/README.md tells its reader to write (its one ```json block), with
 * `skipLibCheck` off: the examples are compiled with exactly the reader's configuration, and
 * the packed .d.ts are type-checked too.
 */
export function examplesReadmeTsconfig(readme: string): string {
  const blocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)];
  if (blocks.length !== 1) throw new Error(`examples/README.md should have one json block (its tsconfig.json), has ${blocks.length}`);
  const config = JSON.parse(blocks[0]![1]!) as { compilerOptions: Record<string, unknown> };
  return JSON.stringify({ ...config, compilerOptions: { ...config.compilerOptions, skipLibCheck: false } }, null, 2);
}

/**
 * Every exports entry, used through its types: a missing or broken .d.ts fails to compile.
 * The same text is compiled as ESM (NodeNext), as CommonJS under `moduleResolution: node` and
 * `node16`, and for a bundler; run, it prints what each entry gave.
 */
export const ENTRIES_TS = `
import { createLockstepServer, ErrorCodes, LockstepError, type LockstepServer, type LockstepServerOptions } from 'lockstep';
import { StreamHub, type StreamHubOptions } from 'lockstep/advanced';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from 'lockstep/machines';
import { checkStreamHistory, type HistoryViolation } from 'lockstep/testing';
import { agUiHandler, LockstepAgent, type AgUiHandlerOptions } from 'lockstep/ag-ui';

const options: LockstepServerOptions = { port: 0, limits: { authTimeoutMs: 1000 } };
const limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS;
const hubOptions: StreamHubOptions = { maxConnectionsPerUser: 2 };
const violations: HistoryViolation[] = checkStreamHistory([{ seq: 1 }, { seq: 2 }]);
const agUi: AgUiHandlerOptions = { url: 'http://127.0.0.1:8000/agent' };
export const checks: Array<unknown> = [createLockstepServer, options, limits, hubOptions, ErrorCodes, agUiHandler(agUi), LockstepAgent];
export type Server = LockstepServer;
console.log(JSON.stringify({
  server: typeof createLockstepServer,
  error: new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', 'x').code,
  hub: typeof StreamHub,
  machine: connectionMachine.id,
  violations: violations.length,
}));
`;

/**
 * A consumer tsconfig for one more module system (the ESM/NodeNext one is examples/README.md's): `cjs-node10`
 * (`module: commonjs`, `moduleResolution: node`: NestJS and most older apps; only typesVersions
 * find the subpath types), `cjs-node16` (CommonJS under Node16 resolution: the `require`
 * conditions), `bundler` (a bundled app: `moduleResolution: bundler`, type-checked only).
 */
export function moduleSystemTsconfig(kind: 'cjs-node10' | 'cjs-node16' | 'bundler'): string {
  const compilerOptions = {
    // skipLibCheck on: fast-check's own .d.ts import pure-rand subpaths that
    // `moduleResolution: node` cannot resolve (NestJS's default config skips lib checks too).
    // lockstep's types are still resolved through typesVersions and checked where used.
    'cjs-node10': { module: 'commonjs', moduleResolution: 'node', esModuleInterop: true, skipLibCheck: true },
    // skipLibCheck on: the ESM .d.ts are checked in full by the NodeNext projects and dist/cjs
    // holds byte copies; a `require` condition naming ESM types fails on this file's own import
    // lines (TS1479) all the same.
    'cjs-node16': { module: 'node16', moduleResolution: 'node16', skipLibCheck: true },
    // The bundler sees the ESM .d.ts, which the NodeNext projects check in full already.
    bundler: { module: 'esnext', moduleResolution: 'bundler', noEmit: true, skipLibCheck: true },
  }[kind];
  return JSON.stringify(
    { compilerOptions: { target: 'ES2022', lib: ['ES2023'], strict: true, types: ['node'], outDir: 'out', ...compilerOptions }, include: ['*.ts'] },
    null,
    2,
  );
}

/** The runtime shape of every entry, by `require` and by `import`, and whether both give the same module objects. */
export const REQUIRE_AND_IMPORT_CJS = `
const ENTRIES = ['lockstep', 'lockstep/advanced', 'lockstep/machines', 'lockstep/testing', 'lockstep/client', 'lockstep/ag-ui'];
(async () => {
  const result = {};
  for (const entry of ENTRIES) {
    const required = require(entry);
    const imported = await import(entry);
    result[entry] = {
      required: Object.keys(required).sort(),
      imported: Object.keys(imported).sort(),
      same: Object.keys(imported).every((key) => imported[key] === required[key]),
    };
  }
  console.log(JSON.stringify(result));
})();
`;

/** lockstep/testing's property, from CommonJS, checked by the CommonJS build of fast-check. */
export const TESTING_WITH_CJS_FAST_CHECK = `
const fc = require('fast-check');
const { connectionInvariantProperty } = require('lockstep/testing');
fc.assert(connectionInvariantProperty(undefined, { maxCommands: 8 }), { numRuns: 20, seed: 42 });
console.log('ok');
`;

/**
 * Imports `lockstep` under a resolve hook that appends every module it resolves to the file
 * LOADS_FILE names (the hook runs on its own thread; a file is written before the import
 * returns). The test reads it: the optional parts (ioredis, fast-check, elkjs) must not be there.
 * Prints how long the import took.
 */
export const RECORD_LOADS_MJS = `
import { register } from 'node:module';
const hooks = \`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.LOADS_FILE, result.url + '\\\\n');
  return result;
}\`;
register('data:text/javascript,' + encodeURIComponent(hooks));
const started = performance.now();
await import(process.argv[2] ?? 'lockstep');
console.log(JSON.stringify({ ms: performance.now() - started }));
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
