// Cost of recording a connection's trace, per event, against the same actor without it.
// Run after `npm run build`: node --expose-gc bench/record-overhead.mjs [events=200000]
// (the first two runs warm up the JIT; the last two are printed)
// Each event is a `ping` frame in `ready` (decode, pong effect): the cheapest real path, so
// the recorder's share is as large as it gets.
import { performance } from 'node:perf_hooks';
import { createActor } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS } from '../dist/machines/connection.js';
import { recordConnection } from '../dist/src/trace/recorder.js';

const EVENTS = Number(process.argv[2] ?? 200_000);
const limits = { ...DEFAULT_CONNECTION_LIMITS, heartbeatMs: 3_600_000 };
const machine = connectionMachine.provide({
  actions: {
    // The handshake's effects, answered a microtask later as the server's adapter does.
    verifyToken: ({ self }) => void Promise.resolve().then(() => self.send({ type: 'auth.verified', userId: 'bench' })),
    checkBackend: ({ self }) => void Promise.resolve().then(() => self.send({ type: 'backend.ready' })),
    joinStream: ({ self }) => self.send({ type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] }),
  },
});

async function run(recording) {
  const input = { connectionId: 'bench', token: 'bench-token', limits };
  let traced;
  const recorder = recording
    ? recordConnection({ ...input, credentials: 'header', resume: undefined, clock: undefined, maxEntries: EVENTS + 100, onTrace: (t) => (traced = t) })
    : undefined;
  const actor = createActor(machine, { input, ...(recorder ? { clock: recorder.clock, inspect: recorder.inspect } : {}) });
  recorder?.watch(actor);
  actor.start();
  await new Promise((resolve) => setImmediate(resolve)); // both handshake promises settled
  if (!actor.getSnapshot().matches('ready')) throw new Error('not ready');
  const frame = { type: 'socket.frame', data: '{"type":"ping","id":"p"}' };
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < EVENTS; i += 1) actor.send({ ...frame });
  const elapsed = performance.now() - start;
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed - heapBefore; // what stays: the trace being built
  actor.send({ type: 'socket.close', code: 1000, reason: '' });
  return { usPerEvent: (elapsed * 1000) / EVENTS, heapPerEvent: heap / EVENTS, entries: traced?.entries.length ?? 0 };
}

const results = [];
for (const recording of [false, true, false, true]) results.push({ recording, ...(await run(recording)) });
for (const r of results.slice(2)) {
  console.log(`recording ${r.recording ? 'on ' : 'off'}: ${r.usPerEvent.toFixed(2)} µs/event, ~${Math.round(r.heapPerEvent)} B heap/event${r.recording ? `, ${r.entries} entries` : ''}`);
}
