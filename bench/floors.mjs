/**
 * Floors: what XState itself costs, measured in one process with no sockets, so the socket
 * figures can be read against what no implementation of this design can go below. The design
 * puts every socket event through one XState actor per connection (DESIGN.md); these figures
 * are that actor's share, and the same primitives on machines with nothing of lockstep in them.
 *
 *   flatEventMicros          one event, one `assign`, on a one-state machine (13-field context)
 *   streamEventMicros        one `stream.event` on the connection machine in `ready`
 *                            (backpressure guard, frame encoded, `lastSeq` assigned)
 *   machinePerMessageMicros  the connection machine's whole per-message path, no sockets:
 *                            `socket.frame` (decode, rate limit, dispatch), `message.accepted`
 *                            (ack), a run handle, two `stream.event`s; effects encode frames only
 *   machineLifecycleMicros   one connection actor from creation to `ready` to `closed`, with
 *                            an instant verifier and backend
 *   bareActorHeapBytes       heap of one started actor of a one-state machine
 *   timerActorHeapBytes      the same with one pending `after` delay
 *   connectionActorHeapBytes heap of one connection actor in `ready`, no socket
 *
 * Run with --expose-gc (jobs.mjs does). Standalone: `node --expose-gc bench/floors.mjs`.
 */
import { assign, createActor, setup } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS } from '../dist/machines/index.js';
import { startRun } from '../dist/src/agent/run-handle.js';

const ready = { type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] };
const machine = connectionMachine.provide({
  actions: {
    // The handshake's effects, answered a microtask later as the server's adapter does.
    verifyToken: ({ self }, params) => void Promise.resolve().then(() => self.send({ type: 'auth.verified', userId: params.token })),
    checkBackend: ({ self }) => void Promise.resolve().then(() => self.send({ type: 'backend.ready' })),
    sendFrame: (_, params) => void JSON.stringify(params.frame),
    invokeHandler: (_, params) => accepted.push(params),
    joinStream: ({ self }) => self.send(ready),
  },
});
const accepted = [];
const limits = { ...DEFAULT_CONNECTION_LIMITS, messageRate: 1, messageBurst: 1_000_000_000 };
const untilIdle = () => new Promise((resolve) => setImmediate(resolve));

/** CPU µs (user + system) per call of the synchronous `fn`, after a warm-up of a tenth as many calls. */
function cpuPerCall(n, fn) {
  for (let i = 0; i < n / 10; i++) fn(i);
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / n;
}

/** The same for an asynchronous `fn`, awaited call by call (the event-loop turns it needs count). */
async function cpuPerAsyncCall(n, fn) {
  for (let i = 0; i < n / 10; i++) await fn(i);
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / n;
}

/** Heap bytes per actor made by `make` (kept alive, then stopped), after two forced GCs either side. */
async function heapPer(n, make) {
  const measure = () => {
    globalThis.gc();
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const kept = [];
  const before = measure();
  for (let i = 0; i < n; i++) kept.push(await make(i));
  await untilIdle();
  const bytes = (measure() - before) / n;
  for (const actor of kept) actor.stop();
  return bytes;
}

async function readyConnection(i) {
  const actor = createActor(machine, { input: { connectionId: `c${i}`, token: `u${i}`, limits } });
  actor.start();
  await untilIdle();
  return actor;
}

async function measure({ events, connections }) {
  if (typeof globalThis.gc !== 'function') throw new Error('floors.mjs needs node --expose-gc');
  const context = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`f${i}`, i]));
  const flat = setup({}).createMachine({
    context,
    initial: 'only',
    states: { only: { on: { tick: { actions: assign({ f1: ({ context: c }) => c.f1 + 1 }) } } } },
  });
  const flatActor = createActor(flat).start();
  const flatEventMicros = cpuPerCall(events, () => flatActor.send({ type: 'tick' }));

  const connection = await readyConnection(0);
  let seq = 0;
  const streamEventMicros = cpuPerCall(events, () =>
    connection.send({ type: 'stream.event', event: { seq: ++seq, runId: 'r', event: 'agent_thinking', data: {}, ts: 0 }, bufferedBytes: 0 }));

  const deliver = (runId) => (event, data) =>
    connection.send({ type: 'stream.event', event: { seq: ++seq, runId, event, data, ts: 0 }, bufferedBytes: 0 });
  const machinePerMessageMicros = cpuPerCall(events / 4, (i) => {
    connection.send({ type: 'socket.frame', data: `{"type":"message","id":"m${i}","text":"hello"}` });
    const { runId, message } = accepted.pop();
    connection.send({ type: 'message.accepted', id: message.id, runId, duplicate: false });
    startRun(runId, 'u0', deliver(runId)).complete({});
  });
  connection.stop();

  const machineLifecycleMicros = await cpuPerAsyncCall(connections, async (i) => {
    const actor = await readyConnection(i);
    actor.send({ type: 'socket.close', code: 1000, reason: '' });
    if (actor.getSnapshot().status !== 'done') throw new Error('connection actor did not reach closed');
  });

  const idle = setup({}).createMachine({ initial: 'only', states: { only: {} } });
  const timed = setup({ delays: { later: 25_000 } }).createMachine({
    initial: 'waiting',
    states: { waiting: { after: { later: 'done' } }, done: {} },
  });
  const bareActorHeapBytes = await heapPer(connections, () => createActor(idle).start());
  const timerActorHeapBytes = await heapPer(connections, () => createActor(timed).start());
  const connectionActorHeapBytes = await heapPer(connections, readyConnection);

  return {
    flatEventMicros,
    streamEventMicros,
    machinePerMessageMicros,
    machineLifecycleMicros,
    bareActorHeapBytes,
    timerActorHeapBytes,
    connectionActorHeapBytes,
  };
}

const DEFAULTS = { events: 200_000, connections: 5_000 };

if (!process.send && process.argv[1]?.endsWith('floors.mjs')) {
  console.log(JSON.stringify(await measure(DEFAULTS), null, 2));
  process.exit(0);
}

process.on('message', async (message) => {
  if (message.type !== 'run') return;
  try {
    process.send({ type: 'result', data: await measure({ ...DEFAULTS, ...message.params }) });
  } catch (error) {
    process.send({ type: 'failed', error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
