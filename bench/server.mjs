/**
 * Server process: starts one target (lockstep | ws-protocol | socketio-protocol | ws | socketio)
 * on 127.0.0.1:0 and answers the orchestrator over the IPC channel. Server-side figures (CPU
 * time, heap, RSS) are read here, in the process that serves, never in the load generator.
 * Run with --expose-gc so `mem` measures live memory, not garbage.
 */
import { driveStreams, fanoutRuns } from './workloads.mjs';

const impl = process.argv[2];
const { startTarget } = await import(`./targets/${impl}-server.mjs`);
const target = await startTarget();

function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function collect() {
  if (typeof globalThis.gc !== 'function') throw new Error('server.mjs needs node --expose-gc');
  // Twice: the first pass may only queue finalizers (ws and xstate use WeakMaps/closures).
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const commands = {
  cpu: () => ({ cpuMicros: cpuMicros() }),
  mem: () => ({ ...collect(), connections: target.connections() }),
  connections: () => ({ connections: target.connections() }),
  fanout: ({ users, events }) => new Promise((resolve) => {
    const before = cpuMicros();
    const done = () => resolve({ cpuMicros: cpuMicros() - before });
    if (target.fanout) target.fanout(users, events, done);
    else fanoutRuns(target.startRun, users, events, done);
  }),
  /** The token-streaming workload (bench/workloads.mjs) on the target's startRun. */
  stream: ({ userIds, ...params }) => new Promise((resolve) => driveStreams(target.startRun, userIds, params, resolve)),
};

process.on('message', async (message) => {
  const { id, cmd, args } = message;
  try {
    const result = await commands[cmd](args ?? {});
    process.send({ id, result });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'listening', port: target.port });
