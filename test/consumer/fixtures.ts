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

const options: LockstepServerOptions = { port: 0, limits: { authTimeoutMs: 1000 } };
const limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS;
export const checks: Array<unknown> = [createLockstepServer, options, limits, connectionMachine.id, ErrorCodes, checkStreamHistory];
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
