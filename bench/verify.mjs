/**
 * Verification speed on the pure connection machine (no sockets), per core: every rate is runs
 * per second of this process's CPU time (the machine is shared; wall time would count the
 * others' work). Three figures, measured in alternating rounds in one process:
 *
 * - `interleavingsPerSec`: fast-check runs/s of the connection invariant property as the suite
 *   runs it (lockstep/testing `connectionInvariantProperty`: random scenarios of up to 40
 *   commands, small random limits, every invariant I1–I4, I8–I10 checked), driven synchronously
 *   (stand-ins for verification and readiness, no event-loop turn).
 * - `beforeInterleavingsPerSec`: the figure as it was measured before, in the same rounds: the
 *   same machine driven with promise actors and one event-loop turn after every command
 *   (a smaller scenario, checked for I1–I3).
 * - `exploredPerSec` / `distinctStatesPerSec`: the exhaustive exploration (`exploreConnection`):
 *   every command sequence up to `exploreDepth` commands (one of two heads per round, explored
 *   completely), forked from shared prefixes, each sequence checked whole for every invariant;
 *   distinct states = machine snapshot + timers + harness, as a model checker counts them.
 */
import fc from 'fast-check';
import { createActor, SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS } from '../dist/machines/index.js';
import { connectionInvariantProperty, EXPLORATION_LIMITS, exploreConnection } from '../dist/src/testing/index.js';

const cpuSeconds = (since) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
};

// ---- before: the previous harness (promise actors, one event-loop turn per command) ----

const command = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'message' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'garbage' }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'backendReady' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'backendFail' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((ms) => ({ kind: 'advance', ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peerClose' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' }) },
);
const flush = () => new Promise((resolve) => setImmediate(resolve));
// Each scenario's effects and backend, found through its actor system: fast-check's time limit
// abandons a scenario mid-way (a promise race), and the abandoned one must not write into the next.
const scenarios = new WeakMap();
const scenarioOf = (system) => scenarios.get(system);
const promiseMachine = connectionMachine.provide({
  actions: {
    // The handshake's effects, answered from promises as the server's adapter does.
    verifyToken: ({ self }, p) => void Promise.resolve().then(() => self.send({ type: 'auth.verified', userId: p.token })),
    checkBackend: ({ self }) => void scenarioOf(self.system).backend.then(
      () => self.getSnapshot().status === 'active' && self.send({ type: 'backend.ready' }),
      () => self.getSnapshot().status === 'active' && self.send({ type: 'backend.unavailable', reason: 'down' }),
    ),
    sendFrame: ({ self }, p) => scenarioOf(self.system).effects.push({ kind: 'send', frame: p.frame }),
    closeSocket: ({ self }) => scenarioOf(self.system).effects.push({ kind: 'close' }),
    terminateSocket: ({ self }) => scenarioOf(self.system).effects.push({ kind: 'terminate' }),
    invokeHandler: ({ self }, p) => scenarioOf(self.system).effects.push({ kind: 'handler', id: p.message.id }),
    joinStream: ({ self }) => self.send({ type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] }),
  },
});

async function promiseScenario(commands, useAuthFrame) {
  const effects = [];
  let settle;
  const backend = new Promise((resolve, reject) => (settle = { resolve, reject }));
  backend.catch(() => {});
  const clock = new SimulatedClock();
  const actor = createActor(promiseMachine, {
    clock,
    input: { connectionId: 'c', token: useAuthFrame ? undefined : 'alice', limits: DEFAULT_CONNECTION_LIMITS },
  });
  scenarios.set(actor.system, { effects, backend });
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
  const snapshot = actor.getSnapshot();
  actor.stop();
  return { effects, sentIds, snapshot, peerClosed };
}

function checkBefore({ effects, sentIds, snapshot, peerClosed }) {
  const firstSend = effects.findIndex((e) => e.kind === 'send');
  const firstHandler = effects.findIndex((e) => e.kind === 'handler');
  if (firstSend !== -1 && effects[firstSend].frame.type !== 'ready') throw new Error('I1: first frame is not ready');
  if (firstHandler !== -1 && !(firstSend !== -1 && firstSend < firstHandler)) throw new Error('I1: handler before ready');
  const closeAt = effects.findIndex((e) => e.kind === 'close' || e.kind === 'terminate');
  if (closeAt !== -1 && effects.slice(closeAt).some((e) => e.kind === 'send')) throw new Error('I2: send after close');
  const handled = effects.flatMap((e) => (e.kind === 'handler' ? [e.id] : []));
  if (handled.some((id, i) => id !== sentIds[i])) throw new Error('I3: handled out of order or twice');
  if (closeAt === -1 && !peerClosed) {
    const ready = !snapshot.matches('handshaking') && !snapshot.matches('joining');
    if (ready && handled.length !== sentIds.length) throw new Error('I3: a message was not handled');
    if (!ready && handled.length !== 0) throw new Error('I1: handled before ready');
  }
}

async function measureBefore(seconds) {
  let runs = 0;
  const property = fc.asyncProperty(fc.array(command, { maxLength: 40 }), fc.boolean(), async (commands, useAuthFrame) => {
    checkBefore(await promiseScenario(commands, useAuthFrame));
    runs += 1;
  });
  const cpu = process.cpuUsage();
  await fc.assert(property, { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false });
  return runs / cpuSeconds(cpu);
}

// ---- now: the suite's property, driven synchronously ----

function measureSync(seconds) {
  let runs = 0;
  let steps = 0;
  const property = connectionInvariantProperty(undefined, {
    onTrace: (trace) => {
      runs += 1;
      steps += trace.steps.length;
    },
  });
  const cpu = process.cpuUsage();
  fc.assert(property, { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false });
  const elapsed = cpuSeconds(cpu);
  return { interleavingsPerSec: runs / elapsed, stepsPerSec: steps / elapsed };
}

// ---- the exhaustive exploration from shared prefixes ----

const HEADS = [
  { credentials: 'upgrade', limits: EXPLORATION_LIMITS, priorEvents: 0, retainEvents: 1 },
  { credentials: 'authFrame', limits: EXPLORATION_LIMITS, priorEvents: 2, retainEvents: 3 },
];

/** One complete exploration (no time limit: a cut-off DFS would over-weight its first, costliest subtrees). */
function measureExploration(head, depth) {
  const cpu = process.cpuUsage();
  const report = exploreConnection(head, { depth });
  if (report.violation !== undefined) throw new Error(`exploration found a violation: ${JSON.stringify(report.violation)}`);
  const elapsed = cpuSeconds(cpu);
  return { exploredPerSec: report.sequences / elapsed, distinctStatesPerSec: report.distinctStates / elapsed, sequences: report.sequences, truncated: report.truncated };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Depth 4 (~99,000 sequences a head) unless the run is a quick one.
async function measure(seconds, { rounds = 3, depth = seconds >= 3 ? 4 : 3 } = {}) {
  const before = [];
  const sync = [];
  const explore = [];
  for (let round = 0; round < rounds; round++) {
    before.push(await measureBefore(seconds));
    sync.push(measureSync(seconds));
    explore.push(measureExploration(HEADS[round % HEADS.length], depth));
  }
  return {
    interleavingsPerSec: median(sync.map((s) => s.interleavingsPerSec)),
    stepsPerSec: median(sync.map((s) => s.stepsPerSec)),
    beforeInterleavingsPerSec: median(before),
    exploredPerSec: median(explore.map((e) => e.exploredPerSec)),
    distinctStatesPerSec: median(explore.map((e) => e.distinctStatesPerSec)),
    exploreDepth: depth,
    exploredSequences: median(explore.map((e) => e.sequences)),
    exploreTruncated: explore.some((e) => e.truncated),
    rounds,
    cpuCores: 1,
  };
}

// Standalone (`node bench/verify.mjs [seconds] [depth]`, e.g. under --cpu-prof): print the figures.
if (!process.send && process.argv[1]?.endsWith('verify.mjs')) {
  const seconds = Number(process.argv[2] ?? 3);
  console.log(JSON.stringify(await measure(seconds, process.argv[3] === undefined ? {} : { depth: Number(process.argv[3]) })));
}

process.on('message', async (message) => {
  if (message.type !== 'run') return;
  try {
    process.send({ type: 'result', data: await measure(message.params.seconds) });
  } catch (error) {
    process.send({ type: 'failed', error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
