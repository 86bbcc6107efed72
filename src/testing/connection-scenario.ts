/**
 * Runs one scenario — a sequence of socket events, handshake results, stream events and clock
 * advances — against the pure connection machine, and records everything it did: the effects
 * in order and, after every step, the state and the bounded quantities (I8).
 *
 * The harness plays the parts the server plays in production, with the same contracts:
 * `joinStream` answers synchronously, `invokeHandler` answers `message.accepted` at once,
 * `readFromLog` answers from the user's log. Nothing here decides anything the machine should.
 * The machine runs with its data path (connection-data-path.ts), as on the server: stream
 * events and accepted messages are offered to the path, which writes the steady case into the
 * recorded effects and hands the rest to the actor.
 */
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, heartbeatPongPayload, type ConnectionLimits } from '../../machines/connection.js';
import { handshakeMachine } from '../../machines/handshake.js';
import { ConnectionDataPath, type DataPath, type DataPathFactory } from '../../machines/connection-data-path.js';
import type { ServerFrame, StreamEvent } from '../protocol/frames.js';

/** One step of a scenario: something the socket, the handshake's dependencies, the stream or the clock does. */
export type ConnectionCommand =
  /** A valid `message` frame with a fresh id. */
  | { kind: 'message' }
  | { kind: 'ping' }
  /** An undecodable text frame. */
  | { kind: 'garbage' }
  /** A binary frame (lockstep.v1 is text-only). */
  | { kind: 'binary' }
  /** A second `auth` frame (after the first, if any). */
  | { kind: 'auth' }
  /** The token verification settles. */
  | { kind: 'verify'; ok: boolean }
  /** The backend readiness check settles. */
  | { kind: 'backend'; ok: boolean }
  /** An agent event is appended to the user's stream; `bufferedBytes` is the socket's send buffer. */
  | { kind: 'streamEvent'; bufferedBytes: number }
  | { kind: 'drain' }
  | { kind: 'pong' }
  | { kind: 'advance'; ms: number }
  /** The peer's close frame (or TCP close) arrives. */
  | { kind: 'peerClose'; code: number }
  /** ws reports a protocol error (it has already begun closing, e.g. 1009). */
  | { kind: 'socketError'; closeCode: number }
  | { kind: 'shutdown' };

/** A connection scenario: credentials, limits, the stream before the connection, and the commands (the format `lockstep fuzz --save` writes). */
export interface ConnectionScenario {
  /** Where the credentials come from: the upgrade request, or a first `auth` frame. */
  credentials: 'upgrade' | 'authFrame';
  limits: ConnectionLimits;
  /** Events already in the user's stream before the connection (the `ready` frame's lastSeq). */
  priorEvents: number;
  /** Events the log retains for catch-up; older ones are gone (a catch-up then fails: 1008). */
  retainEvents: number;
  commands: ConnectionCommand[];
}

/** An effect the machine asked for (or the socket going away), as recorded by the scenario harness. */
export type Effect =
  | { kind: 'send'; frame: ServerFrame }
  | { kind: 'handler'; id: string; runId: string }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'terminate' }
  | { kind: 'ping' }
  | { kind: 'join' }
  | { kind: 'leave' }
  | { kind: 'readLog'; afterSeq: number }
  /** Not an effect: the socket closed (peer close or socket error) — nothing may be written after. */
  | { kind: 'socketGone' };

/** The connection after one command: its state and the bounded quantities (I8). */
export interface Step {
  /** Index into `commands`, or -1 for the finale (silent peer, then the socket closes). */
  command: number;
  /** Serialized state value after the step, e.g. `ready.flow.flowing|...` */
  state: string;
  status: 'active' | 'done' | 'error' | 'stopped';
  /** Frames held before ready (I8). */
  early: number;
  /** How far the connection is behind the user's stream while joined (I8). */
  lag: number;
  /** Effects recorded so far. */
  effectCount: number;
}

/** What a scenario did: the effects in order, a record per step, and the counts the checks need. */
export interface ScenarioTrace {
  scenario: ConnectionScenario;
  effects: Effect[];
  steps: Step[];
  /** Message ids sent as valid `message` frames, in send order. */
  sentMessageIds: string[];
  /** Seq of the last event appended to the user's stream. */
  lastAppendedSeq: number;
  /** The actor's error, if an action threw (the server would close 1011 and log it). */
  actorError: unknown;
  /** Distinct serialized states the actor passed through. */
  statesSeen: Set<string>;
}

/** The connection machine, or a variant of it (the mutation suite swaps in broken ones). */
export type ConnectionMachine = typeof connectionMachine;

/** Options of `runConnectionScenario`: a machine variant, and a hook that receives the SimulatedClock. */
export interface RunScenarioOptions {
  machine?: ConnectionMachine;
  /** Called with the SimulatedClock before the actor starts (mutants that read time use it). */
  onClock?: (clock: SimulatedClock) => void;
  /**
   * The data path the machine installs (default: lockstep's own); `false` runs the machine
   * alone, every event through the actor (as traced connections do on the server).
   */
  dataPath?: DataPathFactory | false;
}

const lockstepDataPath: DataPathFactory = (ports, limits) => new ConnectionDataPath(ports, limits);

/** `ready.flow.flowing` style: stable, sorted, so traces compare and states can be counted. */
export function serializeState(value: unknown): string {
  if (typeof value === 'string') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
  return entries
    .map(([key, child]) => {
      const inner = serializeState(child);
      return inner.includes('|') ? `${key}.{${inner}}` : `${key}.${inner}`;
    })
    .join('|');
}

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

/** The user id every scenario authenticates as. */
export const SCENARIO_USER = 'alice';

/** The per-scenario side of the harness: what the provided effects write to and read from. */
interface Harness {
  effects: Effect[];
  log: StreamEvent[];
  retainEvents: number;
  subscribed: boolean;
  verify: Promise<void>;
  backend: Promise<void>;
  path: DataPath | undefined;
}

/**
 * Providing a machine builds all its state nodes again, which costs more than running a whole
 * scenario; so each machine is provided once, and its effects find their scenario's harness
 * through the actor system (one per root actor, shared with the handshake child).
 */
const harnesses = new WeakMap<object, Harness>();
const harnessOf = (system: object): Harness => {
  const harness = harnesses.get(system);
  if (harness === undefined) throw new Error('runConnectionScenario: actor started outside a scenario');
  return harness;
};
const provided = new WeakMap<ConnectionMachine, ConnectionMachine>();

function scenarioMachine(machine: ConnectionMachine): ConnectionMachine {
  const cached = provided.get(machine);
  if (cached !== undefined) return cached;
  const result = machine.provide({
    actors: {
      handshake: handshakeMachine.provide({
        actors: {
          verifyToken: fromPromise(async ({ system }) => {
            await harnessOf(system).verify;
            return { userId: SCENARIO_USER };
          }),
          checkBackend: fromPromise(({ system }) => harnessOf(system).backend),
        },
      }),
    },
    actions: {
      sendFrame: ({ self }, p) => {
        const h = harnessOf(self.system);
        h.effects.push({ kind: 'send', frame: p.frame });
        if (p.frame.type === 'event') h.path?.machineWroteEvent(p.frame.seq);
      },
      closeSocket: ({ self }, p) => harnessOf(self.system).effects.push({ kind: 'close', code: p.code, reason: p.reason }),
      terminateSocket: ({ self }) => harnessOf(self.system).effects.push({ kind: 'terminate' }),
      ping: ({ self }) => harnessOf(self.system).effects.push({ kind: 'ping' }),
      invokeHandler: ({ self }, p) => {
        const h = harnessOf(self.system);
        h.effects.push({ kind: 'handler', id: p.message.id, runId: p.runId });
        const answer = { id: p.message.id, runId: p.runId, duplicate: false };
        if (h.path) h.path.offerAccepted(answer);
        else self.send({ type: 'message.accepted', ...answer });
      },
      joinStream: ({ self }) => {
        const h = harnessOf(self.system);
        h.effects.push({ kind: 'join' });
        h.subscribed = true;
        self.send({ type: 'stream.joined', epoch: 'e', lastSeq: h.log.length, resumed: false, replay: [] });
      },
      leaveStream: ({ self }) => {
        const h = harnessOf(self.system);
        if (h.subscribed) h.effects.push({ kind: 'leave' });
        h.subscribed = false;
      },
      watchDrain: () => {},
      installEventPath: ({ self }, p) => harnessOf(self.system).path?.installEvents(p.lastSeq),
      removeEventPath: ({ self }) => harnessOf(self.system).path?.removeEvents(),
      installAckPath: ({ self }) => harnessOf(self.system).path?.installAcks(),
      removeAckPath: ({ self }) => harnessOf(self.system).path?.removeAcks(),
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
export async function runConnectionScenario(
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
    const event: StreamEvent = { seq: log.length + 1, runId: 'r', event: 'agent_thinking', data: {}, ts: 0 };
    log.push(event);
    return event;
  };
  for (let i = 0; i < scenario.priorEvents; i++) append();
  const harness: Harness = { effects, log, retainEvents: scenario.retainEvents, subscribed: false, verify: verify.promise, backend: backend.promise, path: undefined };
  let actorError: unknown;

  const clock = new SimulatedClock();
  options.onClock?.(clock);
  const machine = scenarioMachine(options.machine ?? connectionMachine);
  // A scenario saved before a limit existed runs with that limit's default.
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...scenario.limits };
  const actor = createActor(machine, {
    clock,
    input: {
      connectionId: 'c',
      token: scenario.credentials === 'upgrade' ? 'token' : undefined,
      limits,
    },
  });
  harnesses.set(actor.system, harness);
  // The socket's send buffer as the current command reports it (0 unless a stream event says otherwise).
  let bufferedBytes = 0;
  const createPath = options.dataPath ?? lockstepDataPath;
  if (createPath !== false) {
    harness.path = createPath(
      {
        bufferedBytes: () => bufferedBytes,
        writeEvent: (event) => effects.push({ kind: 'send', frame: { type: 'event', ...event } }),
        writeAck: (frame) => effects.push({ kind: 'send', frame }),
        toMachine: (event) => actor.send(event),
      },
      limits,
    );
  }
  actor.subscribe({ error: (error) => (actorError = error) });
  const frame = (data: unknown) =>
    actor.send({ type: 'socket.frame', data: data === null ? null : typeof data === 'string' ? data : JSON.stringify(data) });
  // The seq written last: the machine's own, or the path's while it writes (it tells the machine when it hands over).
  const deliveredSeq = (machineSeq: number) => Math.max(machineSeq, harness.path?.lastSeq ?? 0);
  const record = (command: number) => {
    const snapshot = actor.getSnapshot();
    const state = serializeState(snapshot.value);
    statesSeen.add(state);
    steps.push({
      command,
      state,
      status: snapshot.status,
      early: snapshot.context.early.length,
      lag: harness.subscribed && snapshot.status === 'active' && state.startsWith('ready') ? log.length - deliveredSeq(snapshot.context.lastSeq) : 0,
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
        // The path is offered every event, even before the join (it must hand them to the
        // machine until `ready.flow.flowing` installs it); the machine alone only once subscribed.
        if (harness.path) {
          bufferedBytes = command.bufferedBytes;
          harness.path.offerEvent(event);
          bufferedBytes = 0;
        } else if (harness.subscribed) {
          actor.send({ type: 'stream.event', event, bufferedBytes: command.bufferedBytes });
        }
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
    const longest = longestTimeout(limits);
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
