/**
 * Verification speed: how many random interleavings per second fast-check explores against
 * the pure connection machine (no sockets), on one core. One interleaving = one fast-check
 * run: a random sequence of up to 40 client frames, backend readiness/failure, clock advances,
 * peer close and shutdown, driven through a fresh actor and checked for I1, I2 and I3 —
 * the same scenario and checks as test/properties/connection-ordering.test.ts.
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, handshakeMachine } from '../dist/machines/index.js';

const command = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'message' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'garbage' }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'backendReady' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'backendFail' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((ms) => ({ kind: 'advance', ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peerClose' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' }) },
);

// Lets the promise-based handshake steps settle between two commands, as the property test
// does. (A few microtask turns instead give the same traces and are only ~10–30 % faster here:
// the machine, not the flush, is the cost.)
const flush = () => new Promise((resolve) => setImmediate(resolve));

// Provided once: \`provide()\` rebuilds the whole state-node tree, which would cost more than
// the run itself. The effects write to the scenario being run (\`current\`).
let current;
const machine = connectionMachine.provide({
  actors: {
    handshake: handshakeMachine.provide({
      actors: {
        verifyToken: fromPromise(async ({ input }) => ({ userId: input.token })),
        checkBackend: fromPromise(() => current.backend),
      },
    }),
  },
  actions: {
    sendFrame: (_, p) => current.effects.push({ kind: 'send', frame: p.frame }),
    closeSocket: () => current.effects.push({ kind: 'close' }),
    terminateSocket: () => current.effects.push({ kind: 'terminate' }),
    invokeHandler: (_, p) => current.effects.push({ kind: 'handler', id: p.message.id }),
    joinStream: ({ self }) => self.send({ type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] }),
  },
});

async function runScenario(commands, useAuthFrame) {
  const effects = [];
  let settle;
  const backend = new Promise((resolve, reject) => (settle = { resolve, reject }));
  backend.catch(() => {});
  current = { effects, backend };
  const clock = new SimulatedClock();
  const actor = createActor(machine, {
    clock,
    input: { connectionId: 'c', token: useAuthFrame ? undefined : 'alice', limits: DEFAULT_CONNECTION_LIMITS },
  });
  actor.start();
  if (useAuthFrame) actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'auth', token: 'alice' }) });
  const sentIds = [];
  let peerClosed = false;
  for (const c of commands) {
    if (peerClosed) break;
    if (c.kind === 'message') {
      const id = `m${sentIds.length}`;
      sentIds.push(id);
      actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'message', id, text: 'x' }) });
    } else if (c.kind === 'garbage') actor.send({ type: 'socket.frame', data: '{oops' });
    else if (c.kind === 'backendReady') settle.resolve();
    else if (c.kind === 'backendFail') settle.reject(new Error('down'));
    else if (c.kind === 'advance') clock.increment(c.ms);
    else if (c.kind === 'peerClose') {
      peerClosed = true;
      actor.send({ type: 'socket.close', code: 1000, reason: '' });
    } else if (c.kind === 'shutdown') actor.send({ type: 'server.shutdown' });
    await flush();
  }
  return { effects, sentIds, snapshot: actor.getSnapshot(), peerClosed };
}

function check({ effects, sentIds, snapshot, peerClosed }) {
  const firstSend = effects.findIndex((e) => e.kind === 'send');
  const firstHandler = effects.findIndex((e) => e.kind === 'handler');
  if (firstSend !== -1 && effects[firstSend].frame.type !== 'ready') throw new Error('I1: first frame is not ready');
  if (firstHandler !== -1 && !(firstSend !== -1 && firstSend < firstHandler)) throw new Error('I1: handler before ready');
  const closeAt = effects.findIndex((e) => e.kind === 'close' || e.kind === 'terminate');
  if (closeAt !== -1 && effects.slice(closeAt).some((e) => e.kind === 'send')) throw new Error('I2: send after close');
  const handled = effects.flatMap((e) => (e.kind === 'handler' ? [e.id] : []));
  if (handled.some((id, i) => id !== sentIds[i])) throw new Error('I3: handled out of order or twice');
  if (closeAt === -1 && !peerClosed) {
    const ready = snapshot.value !== 'handshaking' && snapshot.value !== 'joining';
    if (ready && handled.length !== sentIds.length) throw new Error('I3: a message was not handled');
    if (!ready && handled.length !== 0) throw new Error('I1: handled before ready');
  }
}

async function measure(seconds) {
  let runs = 0;
  let steps = 0;
  const property = fc.asyncProperty(fc.array(command, { maxLength: 40 }), fc.boolean(), async (commands, useAuthFrame) => {
    check(await runScenario(commands, useAuthFrame));
    runs += 1;
    steps += commands.length;
  });
  const t0 = performance.now();
  await fc.assert(property, {
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: seconds * 1000,
    markInterruptAsFailure: false,
  });
  const elapsed = (performance.now() - t0) / 1000;
  return { interleavingsPerSec: runs / elapsed, stepsPerSec: steps / elapsed, runs, cpuCores: 1 };
}

// Standalone (`node bench/verify.mjs [seconds]`, e.g. under --cpu-prof): print the figure.
if (!process.send && process.argv[1]?.endsWith('verify.mjs')) console.log(JSON.stringify(await measure(Number(process.argv[2] ?? 3))));

process.on('message', async (message) => {
  if (message.type !== 'run') return;
  try {
    process.send({ type: 'result', data: await measure(message.params.seconds) });
  } catch (error) {
    process.send({ type: 'failed', error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
