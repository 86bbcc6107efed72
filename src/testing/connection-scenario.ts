/**
 * Runs one scenario — a sequence of socket events, handshake results, stream events and clock
 * advances — against the pure connection machine, and records everything it did: the effects
 * in order and, after every step, the state and the bounded quantities (I8).
 *
 * The harness plays the parts the server plays in production, with the same contracts:
 * `joinStream` answers synchronously, `invokeHandler` answers `message.accepted` at once,
 * `readFromLog` answers from the user's log. The machine runs with its data path
 * (connection-data-path.ts), as on the server, unless `dataPath: false`. Nothing here decides anything the machine should.
 *
 * It drives the machines synchronously: no event-loop turn anywhere. Token verification and
 * backend readiness are effects the machine asks for (`verifyToken`, `checkBackend`); the
 * server answers them later with an event (`auth.verified`/`auth.refused`,
 * `backend.ready`/`backend.unavailable`), and so does the harness, right after the command
 * that decided the answer — the moment the server's answer would have reached the actor — so
 * the machine sees the same events in the same order. A token refresh is the same: the machine
 * asks (`verifyRefresh`) and the harness answers `refresh.refused` at that same point.
 */
import { createActor, type Actor, type AnyActorRef, type SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, heartbeatPongPayload, type ConnectionEvent, type ConnectionLimits, type HandlerInvocation } from '../../machines/connection.js';
import { ConnectionDataPath, type DataPath, type DataPathFactory } from '../../machines/connection-data-path.js';
import type { HandshakeEvent } from '../../machines/handshake.js';
import type { ServerFrame, StreamEvent } from '../protocol/frames.js';
import { ScenarioClock, type ScheduledEvents } from './scenario-clock.js';
import { MachineRunner } from '../runtime/machine-runner.js';

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
   * The data path the machine installs (default: lockstep's own, machines/connection-data-path.ts);
   * `false` runs the machine alone, every event through the actor (as traced connections do).
   */
  dataPath?: DataPathFactory | false;
  /** `runner` (default): a MachineRunner, as the server runs a connection; `actor`: a full Actor, as it runs a traced or inspected one. */
  driver?: 'runner' | 'actor';
}

/**
 * What runs the machine: a MachineRunner, as the server runs every connection that is not traced
 * or inspected (the default), or a full XState Actor, as it runs those.
 */
export type ScenarioActor = MachineRunner<ConnectionMachine> | Actor<ConnectionMachine>;


/** lockstep's own data path (the default of `RunScenarioOptions.dataPath`). */
export const lockstepDataPath: DataPathFactory = (ports, limits) => new ConnectionDataPath(ports, limits);

/** Sorted key lists of multi-key state values (the regions of a parallel state), by their keys in definition order. */
const sortedKeys = new Map<string, string[]>();

/**
 * Serialized state values, by value object: the compiled step function (src/runtime/compiled-machine.ts)
 * makes one frozen state value per configuration and hands that same object out every time, so
 * scenarios serialize each configuration once. Only frozen values are kept (others may change).
 */
const serializedValues = new WeakMap<object, string>();

/** `ready.flow.flowing` style: stable, sorted, so traces compare and states can be counted. */
export function serializeState(value: unknown): string {
  if (typeof value === 'string') return value;
  let serialized = serializedValues.get(value as object);
  if (serialized === undefined) {
    serialized = serializeObjectState(value as Record<string, unknown>);
    if (Object.isFrozen(value)) serializedValues.set(value as object, serialized);
  }
  return serialized;
}

function serializeObjectState(object: Record<string, unknown>): string {
  let keys = Object.keys(object);
  if (keys.length > 1) {
    // The same order as sorting them each time (localeCompare), looked up once per key set.
    const id = keys.join('\u0000');
    let sorted = sortedKeys.get(id);
    if (sorted === undefined) {
      sorted = keys.slice().sort((a, b) => a.localeCompare(b));
      // A machine has few parallel states; arbitrary values (a caller's own) are not kept.
      if (sortedKeys.size < 256) sortedKeys.set(id, sorted);
    }
    keys = sorted;
  }
  let serialized = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const inner = serializeState(object[key]);
    if (i > 0) serialized += '|';
    serialized += inner.includes('|') ? `${key}.{${inner}}` : `${key}.${inner}`;
  }
  return serialized;
}

/** Longer than every timeout the machine has, so the finale passes them all. */
function longestTimeout(limits: ConnectionLimits): number {
  return Math.max(limits.authTimeoutMs + limits.backendTimeoutMs, limits.heartbeatMs, limits.closeTimeoutMs) + 1;
}

/** The user id every scenario authenticates as. */
export const SCENARIO_USER = 'alice';

/** A dependency the server answers asynchronously; here a stand-in the scenario settles. */
type Dependency = 'verify' | 'backend' | 'refresh';

/** The per-scenario side of the harness: what the provided effects write to and read from. */
export interface Harness {
  effects: Effect[];
  log: StreamEvent[];
  retainEvents: number;
  subscribed: boolean;
  /** How verification and readiness answer: undefined until a command decided it (the first one does, as a promise settles once). */
  verify: boolean | undefined;
  backend: boolean | undefined;
  /**
   * Questions asked and not answered yet, in the order asked: `verify` and `backend` are the
   * machine's effects (`ref` is the connection actor the answer goes to), `refresh` a stand-in
   * (`ref` is the stand-in).
   */
  pending: { ref: Pick<AnyActorRef, 'send' | 'getSnapshot'>; dependency: Dependency }[];
  /**
   * The connection's data path, as on the server: stream events and accepted messages are
   * offered to it; it writes the steady case into `effects` and hands the rest to the actor.
   */
  path: DataPath | undefined;
  /** The socket's send buffer as the current command reports it (0 unless a stream event says otherwise). */
  bufferedBytes: number;
  /** The scenario's clock: the time fact of frames and of the join's answer. */
  now: () => number;
}

// The server's answers (src/adapter/handshake-effects.ts), one object each: events are never mutated.
const VERIFIED: HandshakeEvent = Object.freeze({ type: 'auth.verified', userId: SCENARIO_USER });
const REFUSED: HandshakeEvent = Object.freeze({ type: 'auth.refused', reason: 'refused by the scenario' });
const READY: HandshakeEvent = Object.freeze({ type: 'backend.ready' });
const UNAVAILABLE: HandshakeEvent = Object.freeze({ type: 'backend.unavailable', reason: 'refused by the scenario' });

// The harness has no refresh verifier: it refuses every refresh, at once (as a verifier that throws).
const REFRESH_REFUSED: ConnectionEvent = Object.freeze({ type: 'refresh.refused', reason: 'refused by the scenario' });

function answerOf(harness: Harness, dependency: Dependency): HandshakeEvent | ConnectionEvent | undefined {
  if (dependency === 'refresh') return REFRESH_REFUSED;
  if (dependency === 'verify') return harness.verify === undefined ? undefined : harness.verify ? VERIFIED : REFUSED;
  return harness.backend === undefined ? undefined : harness.backend ? READY : UNAVAILABLE;
}

/**
 * Answers every question whose answer is decided, oldest first, until none is left: what the
 * server's answers would have done before the next event-loop turn. An answer may lead to the
 * next question (verified → readiness check), which is answered too if already decided. An
 * answer to a state already left goes to the machine anyway, as the server's would: the machine
 * ignores it.
 */
export function settleDecided(harness: Harness): void {
  const { pending } = harness;
  let i = 0;
  while (i < pending.length) {
    const { ref, dependency } = pending[i]!;
    if (ref.getSnapshot().status !== 'active') {
      // The actor stopped (or the stand-in's state was left): nobody is left to hear the answer.
      pending.splice(i, 1);
      continue;
    }
    const answer = answerOf(harness, dependency);
    if (answer === undefined) {
      i++;
      continue;
    }
    pending.splice(i, 1);
    ref.send(answer);
    i = 0;
  }
}

/**
 * The runner of a scenario: a MachineRunner that holds its scenario's harness, so the effects
 * (whose `self` is the runner) find it without a lookup.
 */
export class ScenarioRunner extends MachineRunner<ConnectionMachine> {
  harness: Harness | undefined;
}

/**
 * Providing a machine builds all its state nodes again, which costs more than running a whole
 * scenario; so each machine is provided once, and its effects find their scenario's harness
 * on their `self`: the runner holds it, a full Actor is looked up here.
 */
const harnesses = new WeakMap<object, Harness>();
const harnessOf = (self: object): Harness => {
  const harness = self instanceof ScenarioRunner ? self.harness : harnesses.get(self);
  if (harness === undefined) throw new Error('runConnectionScenario: actor started outside a scenario');
  return harness;
};
/** Binds a connection (the `self` of its effects: runner or actor) to the harness its effects write to. */
export const bindHarness = (self: object, harness: Harness): void => {
  if (self instanceof ScenarioRunner) self.harness = harness;
  else harnesses.set(self, harness);
};
const provided = new WeakMap<ConnectionMachine, ConnectionMachine>();

/**
 * The server's `invokeHandler`, for the machine and for the frame path alike: the message
 * recorder answers at once (every id is fresh) and the answer goes to the ack path, or to the
 * actor when there is none.
 */
function invokeScenarioHandler(h: Harness, actor: Pick<AnyActorRef, 'send'>, p: HandlerInvocation): void {
  h.effects.push({ kind: 'handler', id: p.message.id, runId: p.runId });
  const answer = { id: p.message.id, runId: p.runId, duplicate: false };
  if (h.path) h.path.offerAccepted(answer);
  else actor.send({ type: 'message.accepted', ...answer });
}

/** The machine (or variant) with the harness's effects and stand-ins provided, cached per machine. */
export function scenarioMachine(machine: ConnectionMachine): ConnectionMachine {
  const cached = provided.get(machine);
  if (cached !== undefined) return cached;
  const result = machine.provide({
    actions: {
      verifyRefresh: ({ self }) => void harnessOf(self).pending.push({ ref: self, dependency: 'refresh' }),
      // Asked now, answered by settleDecided once the scenario decided how (as the server answers later).
      verifyToken: ({ self }) => void harnessOf(self).pending.push({ ref: self, dependency: 'verify' }),
      checkBackend: ({ self }) => void harnessOf(self).pending.push({ ref: self, dependency: 'backend' }),
      sendFrame: ({ self }, p) => {
        const h = harnessOf(self);
        h.effects.push({ kind: 'send', frame: p.frame });
        // As the server's adapter does: the path goes on after an event the machine wrote.
        if (p.frame.type === 'event') h.path?.machineWroteEvent(p.frame.seq);
      },
      closeSocket: ({ self }, p) => harnessOf(self).effects.push({ kind: 'close', code: p.code, reason: p.reason }),
      terminateSocket: ({ self }) => harnessOf(self).effects.push({ kind: 'terminate' }),
      ping: ({ self }) => harnessOf(self).effects.push({ kind: 'ping' }),
      invokeHandler: ({ self }, p) => invokeScenarioHandler(harnessOf(self), self, p),
      joinStream: ({ self }) => {
        const h = harnessOf(self);
        h.effects.push({ kind: 'join' });
        h.subscribed = true;
        self.send({ type: 'stream.joined', epoch: 'e', lastSeq: h.log.length, resumed: false, replay: [], atMs: h.now() });
      },
      leaveStream: ({ self }) => {
        const h = harnessOf(self);
        if (h.subscribed) h.effects.push({ kind: 'leave' });
        h.subscribed = false;
      },
      watchDrain: () => {},
      installEventPath: ({ self }, p) => harnessOf(self).path?.installEvents(p.lastSeq),
      removeEventPath: ({ self }) => harnessOf(self).path?.removeEvents(),
      installAckPath: ({ self }) => harnessOf(self).path?.installAcks(),
      removeAckPath: ({ self }) => harnessOf(self).path?.removeAcks(),
      installFramePath: ({ self }, p) => harnessOf(self).path?.installFrames(p),
      removeFramePath: ({ self }) => harnessOf(self).path?.removeFrames(),
      syncFramePath: ({ self }, p) => harnessOf(self).path?.syncFrames(p.counters),
      readFromLog: ({ self }, p) => {
        const h = harnessOf(self);
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

/**
 * The events of a user's stream, fixed by their seq (one object per seq serves every scenario):
 * mostly streamed text deltas, with a thinking step every fourth seq, so that a congested tab's
 * lag (I8) is counted in log entries, where a run of deltas is one, not in seqs.
 */
const streamEvents: StreamEvent[] = [];
export function scenarioStreamEvent(seq: number): StreamEvent {
  let event = streamEvents[seq];
  if (event === undefined) {
    event = (seq % 4 === 0
      ? Object.freeze({ seq, runId: 'r', event: 'agent_thinking', data: Object.freeze({}), ts: 0 })
      : Object.freeze({ seq, runId: 'r', event: 'text_delta', data: Object.freeze({ delta: 'x' }), ts: 0 })) as StreamEvent;
    streamEvents[seq] = event;
  }
  return event;
}

/**
 * Entries of `events` after `afterSeq`, as a log stores them: consecutive deltas of one key share
 * an entry (up to 1024). Written here apart from the machine's own count, which it checks.
 */
export function entriesAfter(events: readonly StreamEvent[], afterSeq: number): number {
  let entries = 0;
  let key: string | undefined;
  let run = 0;
  for (const event of events) {
    if (event.seq <= afterSeq) continue;
    const next = event.event === 'text_delta' ? `${event.runId} text` : undefined;
    if (next !== undefined && next === key && run < 1024) run += 1;
    else {
      entries += 1;
      run = 1;
    }
    key = next;
  }
  return entries;
}

/** The part of a scenario that is fixed before its commands: credentials, limits and the stream so far. */
export type ScenarioHead = Omit<ConnectionScenario, 'commands'>;

/** A scenario being run: the actor, its clock and harness, and what has been recorded so far. */
export interface ScenarioRun {
  head: ScenarioHead;
  actor: ScenarioActor;
  clock: ScenarioClock;
  harness: Harness;
  steps: Step[];
  sentMessageIds: string[];
  socketGone: boolean;
  /** The actor's error, if an action threw. */
  error: { value: unknown } | undefined;
}

/**
 * The run's pending delayed events, in the order they were set: the time left and the machine's
 * own name for each (XState's id of the `after`, without the actor's session id, which differs
 * between forks), so that equal strings are equal futures.
 */
export function pendingTimerKeys(run: ScenarioRun): string[] {
  const now = run.clock.now();
  const timers = run.clock.pendingTimers();
  if (run.actor instanceof MachineRunner) {
    const dueAt = new Map(timers.map((t) => [t.id, t.start + t.timeout]));
    return run.actor.pendingDelays().map((d) => `${dueAt.get(d.timer as number)! - now}:${d.id}`);
  }
  return timers.map((t) => `${t.start + t.timeout - now}:${t.key.slice(t.key.indexOf('.') + 1)}`);
}

/** Records the state and the bounded quantities after a command (or -1: outside the commands). */
export function recordStep(run: ScenarioRun, command: number): void {
  const snapshot = run.actor.getSnapshot();
  const state = serializeState(snapshot.value);
  const { harness } = run;
  run.steps.push({
    command,
    state,
    status: snapshot.status,
    early: snapshot.context.early.length,
    // The seq written last: the machine's own, or the path's while it writes (it tells the machine when it hands over).
    lag: harness.subscribed && snapshot.status === 'active' && state.startsWith('ready')
      ? entriesAfter(harness.log, Math.max(snapshot.context.lastSeq, harness.path?.lastSeq ?? 0))
      : 0,
    effectCount: harness.effects.length,
  });
}

/** Observes the actor's error (an action that threw: the server would close 1011 and log it). */
export function observeErrors(run: ScenarioRun): void {
  run.actor.subscribe({ error: (error) => (run.error = { value: error }) });
}

/** Creates and starts the actor of a scenario, presents the credentials, and records the start. */
export function startScenario(given: ScenarioHead, options: RunScenarioOptions = {}): ScenarioRun {
  // A scenario saved before a limit existed runs with that limit's default.
  const head: ScenarioHead = { ...given, limits: { ...DEFAULT_CONNECTION_LIMITS, ...given.limits } };
  const log: StreamEvent[] = [];
  for (let seq = 1; seq <= head.priorEvents; seq++) log.push(scenarioStreamEvent(seq));
  const clock = new ScenarioClock();
  const harness: Harness = {
    effects: [], log, retainEvents: head.retainEvents, subscribed: false, verify: undefined, backend: undefined, pending: [], path: undefined, bufferedBytes: 0,
    now: () => clock.now(),
  };
  options.onClock?.(clock);
  const machine = scenarioMachine(options.machine ?? connectionMachine);
  const input = { connectionId: 'c', token: head.credentials === 'upgrade' ? 'token' : undefined, limits: head.limits };
  let actor: ScenarioActor;
  if (options.driver === 'actor') {
    const full = createActor(machine, { clock, input });
    clock.system = full.system as unknown as ScheduledEvents;
    actor = full;
  } else actor = new ScenarioRunner(machine, { clock, input });
  bindHarness(actor, harness);
  const run: ScenarioRun = { head, actor, clock, harness, steps: [], sentMessageIds: [], socketGone: false, error: undefined };
  attachDataPath(run, options.dataPath ?? lockstepDataPath);
  observeErrors(run);
  actor.start();
  if (head.credentials === 'authFrame') sendFrame(run, AUTH_FRAME);
  settleDecided(harness);
  recordStep(run, -1);
  return run;
}

/**
 * Gives `run` its data path (none for `false`), with ports into the run's effects and actor.
 * `from`: the path of the run this one was forked from — the copy starts in the same mode,
 * after the same seq (the fork's machine does not re-run the entry actions that installed it).
 */
export function attachDataPath(run: ScenarioRun, factory: DataPathFactory | false, from?: DataPath): void {
  if (factory === false) {
    run.harness.path = undefined;
    return;
  }
  const path = factory(
    {
      bufferedBytes: () => run.harness.bufferedBytes,
      writeEvent: (event) => run.harness.effects.push({ kind: 'send', frame: { type: 'event', ...event } }),
      writeAck: (frame) => run.harness.effects.push({ kind: 'send', frame }),
      toMachine: (event) => run.actor.send(event),
      frameFacts: () => frameFactsOf(run),
      // No user bucket in a scenario (frames carry no `userTokens`): nothing to spend.
      spendUserToken: () => {},
      invokeHandler: (invocation) => invokeScenarioHandler(run.harness, run.actor, invocation),
    },
    run.head.limits,
  );
  if (from !== undefined) {
    if (from.lastSeq > 0) path.installEvents(from.lastSeq);
    if (!from.eventsInstalled) path.removeEvents();
    if (from.acksInstalled) path.installAcks();
    if (from.frames !== undefined) path.installFrames(from.frames);
  }
  run.harness.path = path;
}

/** The facts a frame arrives with: the clock (the connection's bucket refills from it). */
function frameFactsOf(run: ScenarioRun): { atMs: number } {
  return { atMs: run.clock.now() };
}

// The client frames of a scenario, as the client encodes them (JSON.stringify of the frame object).
const AUTH_FRAME = '{"type":"auth","token":"token"}';
const messageFrame = (id: string) => `{"type":"message","id":"${id}","text":"hello"}`;
const pingFrame = (id: string) => `{"type":"ping","id":"${id}"}`;

/** A client text frame (null: binary) from the socket: to the data path, which hands the machine what it leaves to it, or straight to the machine. */
function sendFrame(run: ScenarioRun, raw: string | null): void {
  if (run.harness.path) run.harness.path.offerFrame(raw, raw === null ? 0 : raw.length);
  else run.actor.send({ type: 'socket.frame', data: raw, ...frameFactsOf(run) });
}

/** Runs one command (unless the socket is already gone), settles what it decided, and records the step. */
export function applyCommand(run: ScenarioRun, command: ConnectionCommand, index: number): void {
  if (run.socketGone) return;
  const { actor, harness } = run;
  switch (command.kind) {
    case 'message': {
      const id = `m${run.sentMessageIds.length}`;
      run.sentMessageIds.push(id);
      sendFrame(run, messageFrame(id));
      break;
    }
    case 'ping':
      sendFrame(run, pingFrame(`p${index}`));
      break;
    case 'garbage':
      sendFrame(run, '{not json');
      break;
    case 'binary':
      sendFrame(run, null);
      break;
    case 'auth':
      sendFrame(run, AUTH_FRAME);
      break;
    case 'verify':
      harness.verify ??= command.ok;
      break;
    case 'backend':
      harness.backend ??= command.ok;
      break;
    case 'streamEvent': {
      const event = scenarioStreamEvent(harness.log.length + 1);
      harness.log.push(event);
      // The path is offered every event, even before the join (it must hand them to the
      // machine until `ready.flow.flowing` installs it); the machine alone only once subscribed.
      if (harness.path) {
        harness.bufferedBytes = command.bufferedBytes;
        harness.path.offerEvent(event);
        harness.bufferedBytes = 0;
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
      run.clock.increment(command.ms);
      break;
    case 'peerClose':
      run.socketGone = true;
      harness.effects.push({ kind: 'socketGone' });
      actor.send({ type: 'socket.close', code: command.code, reason: '' });
      break;
    case 'socketError':
      // ws emits 'error' and then 'close' with the code it sent.
      actor.send({ type: 'socket.error', message: 'protocol error', closeCode: command.closeCode });
      run.socketGone = true;
      harness.effects.push({ kind: 'socketGone' });
      actor.send({ type: 'socket.close', code: command.closeCode, reason: '' });
      break;
    case 'shutdown':
      actor.send({ type: 'server.shutdown' });
      break;
  }
  settleDecided(harness);
  recordStep(run, index);
}

/**
 * Finale (I10): a silent peer. Pending verification and readiness never answer; the clock runs
 * past every timeout. The machine must give up by itself, then reach `closed` when the socket
 * finally closes. Stops the actor and returns the trace.
 */
export function finishScenario(run: ScenarioRun, commands: ConnectionCommand[]): ScenarioTrace {
  const { actor, harness } = run;
  if (!run.socketGone) {
    const longest = longestTimeout(run.head.limits);
    for (let i = 0; i < 6; i++) {
      run.clock.increment(longest);
      settleDecided(harness);
    }
    recordStep(run, -1);
    harness.effects.push({ kind: 'socketGone' });
    actor.send({ type: 'socket.close', code: 1006, reason: '' });
    settleDecided(harness);
    recordStep(run, -1);
  }
  actor.stop();
  const { steps } = run;
  let statesSeen: Set<string> | undefined;
  return {
    scenario: { ...run.head, commands },
    effects: harness.effects,
    steps,
    sentMessageIds: run.sentMessageIds,
    lastAppendedSeq: harness.log.length,
    actorError: run.error?.value,
    // The states of the steps, in order: made when first read (the checks do not read it).
    get statesSeen() {
      return (statesSeen ??= new Set(steps.map((step) => step.state)));
    },
  };
}

/**
 * Runs one scenario against the connection machine (or a variant), synchronously, and returns
 * everything it did: effects in order and the state after every step.
 */
export function runConnectionScenarioSync(scenario: ConnectionScenario, options: RunScenarioOptions = {}): ScenarioTrace {
  const run = startScenario(scenario, options);
  const { commands } = scenario;
  for (let index = 0; index < commands.length && !run.socketGone; index++) applyCommand(run, commands[index]!, index);
  return finishScenario(run, commands);
}

/** `runConnectionScenarioSync` behind a promise, as before the scenarios ran synchronously. */
export async function runConnectionScenario(scenario: ConnectionScenario, options: RunScenarioOptions = {}): Promise<ScenarioTrace> {
  return runConnectionScenarioSync(scenario, options);
}
