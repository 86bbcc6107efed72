/**
 * The scenario driver as it was before the synchronous one (src/testing/connection-scenario.ts):
 * verification and readiness are promise actors, and every command is followed by an
 * event-loop turn (`flush`) so they settle. Kept, unchanged in behaviour, as the reference the
 * synchronous driver is compared against (sync-driver-equivalence.test.ts): same scenario,
 * same effects, same steps.
 */
import { createActor, SimulatedClock } from 'xstate';
import { connectionMachine, heartbeatPongPayload, type ConnectionLimits } from '../../machines/connection.js';
import { handshakeEffects } from '../../src/adapter/handshake-effects.js';
import type { StreamEvent } from '../../src/protocol/frames.js';
import {
  entriesAfter,
  scenarioStreamEvent,
  serializeState,
  SCENARIO_USER,
  type ConnectionMachine,
  type ConnectionScenario,
  type Effect,
  type RunScenarioOptions,
  type ScenarioTrace,
  type Step,
} from '../../src/testing/connection-scenario.js';

function settleable() {
  let settle!: (ok: boolean) => void;
  const promise = new Promise<void>((resolve, reject) => {
    settle = (ok) => (ok ? resolve() : reject(new Error('refused by the scenario')));
  });
  promise.catch(() => {});
  return { promise, settle };
}

/** Lets promise actors settle and their results reach the actor (one event-loop turn). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Longer than every timeout the machine has, so the finale passes them all. */
function longestTimeout(limits: ConnectionLimits): number {
  return Math.max(limits.authTimeoutMs + limits.backendTimeoutMs, limits.heartbeatMs, limits.closeTimeoutMs) + 1;
}

/** The per-scenario side of the harness: what the provided effects write to and read from. */
interface Harness {
  effects: Effect[];
  log: StreamEvent[];
  retainEvents: number;
  subscribed: boolean;
  verify: Promise<void>;
  backend: Promise<void>;
  /** The scenario's clock: the time fact of frames and of the join's answer, as the sync driver gives them. */
  now: () => number;
}

/**
 * Providing a machine builds all its state nodes again, which costs more than running a whole
 * scenario; so each machine is provided once, and its effects find their scenario's harness
 * through the actor system (one per root actor).
 */
const harnesses = new WeakMap<object, Harness>();
const harnessOf = (system: object): Harness => {
  const harness = harnesses.get(system);
  if (harness === undefined) throw new Error('runConnectionScenarioWithPromises: actor started outside a scenario');
  return harness;
};
const provided = new WeakMap<ConnectionMachine, ConnectionMachine>();

const handshakeEffectsOf = (h: Harness) =>
  handshakeEffects({
    verify: async () => {
      await h.verify;
      return { userId: SCENARIO_USER };
    },
    backendReady: () => h.backend,
  });

function scenarioMachine(machine: ConnectionMachine): ConnectionMachine {
  const cached = provided.get(machine);
  if (cached !== undefined) return cached;
  const result = machine.provide({
    actions: {
      // The server's own handshake effects, answering from this scenario's promises.
      verifyToken: (scope, p) => handshakeEffectsOf(harnessOf(scope.self.system)).verifyToken(scope, p),
      checkBackend: (scope) => handshakeEffectsOf(harnessOf(scope.self.system)).checkBackend(scope),
      // No refresh verifier in a scenario: the server's effect with a verifier that rejects every refresh.
      verifyRefresh: (scope, p) =>
        handshakeEffects({ verify: () => Promise.reject(new Error('refused by the scenario')), backendReady: () => {} }).verifyRefresh(scope, p),
      sendFrame: ({ self }, p) => harnessOf(self.system).effects.push({ kind: 'send', frame: p.frame }),
      closeSocket: ({ self }, p) => harnessOf(self.system).effects.push({ kind: 'close', code: p.code, reason: p.reason }),
      terminateSocket: ({ self }) => harnessOf(self.system).effects.push({ kind: 'terminate' }),
      ping: ({ self }) => harnessOf(self.system).effects.push({ kind: 'ping' }),
      invokeHandler: ({ self }, p) => {
        harnessOf(self.system).effects.push({ kind: 'handler', id: p.message.id, runId: p.runId });
        self.send({ type: 'message.accepted', id: p.message.id, runId: p.runId, duplicate: false });
      },
      joinStream: ({ self }) => {
        const h = harnessOf(self.system);
        h.effects.push({ kind: 'join' });
        h.subscribed = true;
        self.send({ type: 'stream.joined', epoch: 'e', lastSeq: h.log.length, resumed: false, replay: [], atMs: h.now() });
      },
      leaveStream: ({ self }) => {
        const h = harnessOf(self.system);
        if (h.subscribed) h.effects.push({ kind: 'leave' });
        h.subscribed = false;
      },
      watchDrain: () => {},
      readFromLog: ({ self }, p) => {
        const h = harnessOf(self.system);
        h.effects.push({ kind: 'readLog', afterSeq: p.afterSeq });
        const oldest = h.log.length - h.retainEvents + 1;
        const events = p.afterSeq + 1 < oldest ? undefined : h.log.slice(p.afterSeq);
        self.send({ type: 'stream.caughtUp', events });
      },
    },
  });
  provided.set(machine, result);
  return result;
}

/** Runs one scenario against the connection machine (or a variant) and returns everything it did: effects in order and the state after every step. */
export async function runConnectionScenarioWithPromises(
  scenario: ConnectionScenario,
  options: RunScenarioOptions = {},
): Promise<ScenarioTrace> {
  const effects: Effect[] = [];
  const steps: Step[] = [];
  const statesSeen = new Set<string>();
  const sentMessageIds: string[] = [];
  const verify = settleable();
  const backend = settleable();
  const log: StreamEvent[] = [];
  const append = () => {
    const event: StreamEvent = scenarioStreamEvent(log.length + 1);
    log.push(event);
    return event;
  };
  for (let i = 0; i < scenario.priorEvents; i++) append();
  const clock = new SimulatedClock();
  const harness: Harness = { effects, log, retainEvents: scenario.retainEvents, subscribed: false, verify: verify.promise, backend: backend.promise, now: () => clock.now() };
  let actorError: unknown;

  options.onClock?.(clock);
  const machine = scenarioMachine(options.machine ?? connectionMachine);
  const actor = createActor(machine, {
    clock,
    input: {
      connectionId: 'c',
      token: scenario.credentials === 'upgrade' ? 'token' : undefined,
      limits: scenario.limits,
    },
  });
  harnesses.set(actor.system, harness);
  actor.subscribe({ error: (error) => (actorError = error) });
  const frame = (data: unknown) =>
    actor.send({ type: 'socket.frame', data: data === null ? null : typeof data === 'string' ? data : JSON.stringify(data), atMs: clock.now() });
  const record = (command: number) => {
    const snapshot = actor.getSnapshot();
    const state = serializeState(snapshot.value);
    statesSeen.add(state);
    steps.push({
      command,
      state,
      status: snapshot.status,
      early: snapshot.context.early.length,
      lag: harness.subscribed && snapshot.status === 'active' && state.startsWith('ready') ? entriesAfter(log, snapshot.context.lastSeq) : 0,
      effectCount: effects.length,
    });
  };

  actor.start();
  if (scenario.credentials === 'authFrame') frame({ type: 'auth', token: 'token' });
  await flush();
  record(-1);
  let socketGone = false;
  for (const [index, command] of scenario.commands.entries()) {
    if (socketGone) break;
    switch (command.kind) {
      case 'message': {
        const id = `m${sentMessageIds.length}`;
        sentMessageIds.push(id);
        frame({ type: 'message', id, text: 'hello' });
        break;
      }
      case 'ping':
        frame({ type: 'ping', id: `p${index}` });
        break;
      case 'garbage':
        frame('{not json');
        break;
      case 'binary':
        frame(null);
        break;
      case 'auth':
        frame({ type: 'auth', token: 'token' });
        break;
      case 'verify':
        verify.settle(command.ok);
        break;
      case 'backend':
        backend.settle(command.ok);
        break;
      case 'streamEvent': {
        const event = append();
        if (harness.subscribed) actor.send({ type: 'stream.event', event, bufferedBytes: command.bufferedBytes });
        break;
      }
      case 'drain':
        actor.send({ type: 'socket.drain' });
        break;
      case 'pong':
        // A conforming peer's pong echoes the ping's payload (the machine's nonce).
        actor.send({ type: 'socket.pong', payload: heartbeatPongPayload(actor.getSnapshot().context) });
        break;
      case 'advance':
        clock.increment(command.ms);
        break;
      case 'peerClose':
        socketGone = true;
        effects.push({ kind: 'socketGone' });
        actor.send({ type: 'socket.close', code: command.code, reason: '' });
        break;
      case 'socketError':
        // ws emits 'error' and then 'close' with the code it sent.
        actor.send({ type: 'socket.error', message: 'protocol error', closeCode: command.closeCode });
        socketGone = true;
        effects.push({ kind: 'socketGone' });
        actor.send({ type: 'socket.close', code: command.closeCode, reason: '' });
        break;
      case 'shutdown':
        actor.send({ type: 'server.shutdown' });
        break;
    }
    await flush();
    record(index);
  }

  // Finale (I10): a silent peer. Pending verification and readiness never answer; the clock
  // runs past every timeout. The machine must give up by itself, then reach `closed` when
  // the socket finally closes.
  if (!socketGone) {
    const longest = longestTimeout(scenario.limits);
    for (let i = 0; i < 6; i++) {
      clock.increment(longest);
      await flush();
    }
    record(-1);
    effects.push({ kind: 'socketGone' });
    actor.send({ type: 'socket.close', code: 1006, reason: '' });
    await flush();
    record(-1);
  }
  actor.stop();
  return { scenario, effects, steps, sentMessageIds, lastAppendedSeq: log.length, actorError, statesSeen };
}
