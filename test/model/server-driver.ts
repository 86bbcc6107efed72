/**
 * The real server stack under test control, for executing generated paths: a lockstep server
 * on an ephemeral loopback port whose token verifier and backend readiness are promises the
 * test settles, whose named delays fire one at a time, and whose actors are observed through
 * xstate inspection (each processed event with the snapshot it produced, and the transitions
 * taken) — so a path step is checked against the state the server-side actor really reached.
 */
import type { AnyMachineSnapshot, InspectionEvent } from 'xstate';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { createLockstepServer, type LockstepServer } from '../../src/server/create-server.js';
import type { Clock } from '../../src/clock.js';
import type { LockstepServerOptions } from '../../src/server/options.js';
import type { VerifiedIdentity } from '../../machines/handshake.js';
import { transitionsOf } from './explore.js';

/**
 * A clock whose timers fire only when the test says which one: `fire(ms)` runs the single
 * pending timer of that duration. Generated paths take delays in any order the machine allows
 * (a heartbeat before a rate refill); SimulatedClock's `increment` would fire every earlier timer
 * on the way. Each limit gets a distinct duration, so a duration names one delay.
 */
export class StepClock implements Clock {
  readonly #timers = new Map<number, { ms: number; fn: () => void }>();
  #nextId = 0;
  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { ms, fn });
    return id;
  }
  clearTimeout(id: number): void {
    this.#timers.delete(id);
  }
  /** The server's time fact for the connection buckets: it stands still (see MODEL_LIMITS.messageRate). */
  now(): number {
    return 0;
  }
  fire(ms: number): void {
    const due = [...this.#timers].filter(([, t]) => t.ms === ms);
    if (due.length !== 1) {
      throw new Error(`expected one pending ${ms} ms timer, found ${due.length} (pending: ${[...this.#timers.values()].map((t) => t.ms).join(', ')})`);
    }
    const [id, timer] = due[0]!;
    this.#timers.delete(id);
    timer.fn();
  }
}

interface Pending<T> { resolve: (value: T) => void; reject: (error: Error) => void }

/** Calls of an async dependency (verifyToken, ready) that the test settles in arrival order. */
class CallQueue<T> {
  readonly #calls: Array<Pending<T>> = [];
  readonly #waiters: Array<(call: Pending<T>) => void> = [];
  call = (): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const call = { resolve, reject };
      const waiter = this.#waiters.shift();
      if (waiter) waiter(call);
      else this.#calls.push(call);
    });
  next(): Promise<Pending<T>> {
    const call = this.#calls.shift();
    if (call) return Promise.resolve(call);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** Distinct durations, so that a duration names one delay (see StepClock). */
export const MODEL_LIMITS = {
  authTimeoutMs: 1_000,
  backendTimeoutMs: 2_000,
  heartbeatMs: 3_000,
  closeTimeoutMs: 4_000,
  joinTimeoutMs: 7_000,
  // The connection's bucket refills lazily from the clock's time (frame-counters.ts), which
  // stands still on a StepClock: the model's bucket (no model event refills it) and the
  // server's agree. Refill is arithmetic, not a transition: test/unit/frame-counters.test.ts
  // and connection.test.ts cover it.
  messageRate: 2,
  messageBurst: 2,
  maxEarlyFrames: 2,
  maxBadFrames: 2,
  // Below one ready frame: a socket corked before `ready` is at the high-water mark (see the
  // connection model test); an uncorked loopback socket with room in the kernel is at 0.
  highWaterMarkBytes: 64,
  maxLagEvents: 1,
  maxOutgoingBytes: 1_024,
  // Byte bounds far above the model's few small frames: the frame counts bind first.
  maxEarlyBytes: 1_000_000,
  maxEarlyBytesTotal: 1_000_000,
  userMessageRate: 1_000,
  userMessageBurst: 1_000,
};
export const MODEL_DRAIN_MS = 5_000;
/** The server's close grace in model runs (distinct from every other delay). */
export const MODEL_CLOSE_GRACE_MS = 6_000;

/** The duration of a named delay under MODEL_LIMITS, from its `xstate.after.<delay>.<state>` event type. */
export function delayMs(eventType: string): number {
  const delay = eventType.split('.')[2];
  const ms: Record<string, number> = {
    authTimeout: MODEL_LIMITS.authTimeoutMs,
    backendTimeout: MODEL_LIMITS.backendTimeoutMs,
    heartbeat: MODEL_LIMITS.heartbeatMs,
    closeTimeout: MODEL_LIMITS.closeTimeoutMs,
    joinTimeout: MODEL_LIMITS.joinTimeoutMs,
    // The model's tokens expire 1000 ms after verification (test/model/connection-model.ts).
    tokenExpiry: 1000,
    drainTimeout: MODEL_DRAIN_MS,
    closeGrace: MODEL_CLOSE_GRACE_MS,
  };
  const value = delay === undefined ? undefined : ms[delay];
  if (value === undefined) throw new Error(`no duration for ${eventType}`);
  return value;
}

export interface ObservedStep { eventType: string; snapshot: AnyMachineSnapshot }

/** One server-side actor, as inspection saw it. */
export class ObservedActor {
  readonly steps: ObservedStep[] = [];
  constructor(readonly machineId: string, readonly sessionId: string) {}
  count(eventType: string): number {
    return this.steps.filter((s) => s.eventType === eventType).length;
  }
}

// Generous: only reached when a path step never happens, to name it instead of hanging.
const STEP_DEADLINE_MS = 5_000;

export class ModelServer {
  readonly clock = new StepClock();
  readonly verify = new CallQueue<VerifiedIdentity>();
  readonly ready = new CallQueue<void>();
  readonly actors: ObservedActor[] = [];
  /** Transition keys taken by the server's actors, per machine id. */
  readonly transitions = new Map<string, Set<string>>();
  readonly server: LockstepServer;
  /** The accepted TCP sockets, in order: a test may cork one to hold the server's writes. */
  readonly rawSockets: Socket[] = [];
  url = '';
  #waiters: Array<() => void> = [];

  constructor(options: LockstepServerOptions) {
    this.server = createLockstepServer({
      host: '127.0.0.1',
      port: 0,
      ...options,
      clock: this.clock,
      verifyToken: this.verify.call,
      ready: this.ready.call,
      inspect: (event) => this.#inspect(event),
    });
    this.server.httpServer.on('connection', (socket: Socket) => this.rawSockets.push(socket));
  }

  async start(): Promise<this> {
    const address = await this.server.listen();
    this.url = `ws://127.0.0.1:${address.port}/ws`;
    return this;
  }

  #inspect(event: InspectionEvent): void {
    const snapshot = (event as { snapshot?: AnyMachineSnapshot }).snapshot;
    const machineId = snapshot?.machine?.id;
    if (snapshot === undefined || machineId === undefined) return;
    if (event.type === '@xstate.microstep') {
      const keys = this.transitions.get(machineId) ?? new Set<string>();
      for (const key of transitionsOf(event)) keys.add(key);
      this.transitions.set(machineId, keys);
    }
    if (event.type === '@xstate.snapshot') {
      const actor = this.actorOf(machineId, event.actorRef.sessionId);
      actor.steps.push({ eventType: event.event.type, snapshot });
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  actorOf(machineId: string, sessionId: string): ObservedActor {
    let actor = this.actors.find((a) => a.sessionId === sessionId);
    if (!actor) {
      actor = new ObservedActor(machineId, sessionId);
      this.actors.push(actor);
    }
    return actor;
  }

  /** The n-th actor (in order of first activity) running the machine `machineId`. */
  async actor(machineId: string, index = 0): Promise<ObservedActor> {
    await this.until(() => this.actors.filter((a) => a.machineId === machineId).length > index, `${machineId} actor #${index}`);
    return this.actors.filter((a) => a.machineId === machineId)[index]!;
  }

  /** Resolves once `test()` holds, re-checked after every inspected snapshot. */
  until(test: () => boolean, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`never happened: ${what}`)), STEP_DEADLINE_MS);
      const check = () => {
        if (!test()) {
          this.#waiters.push(check);
          return;
        }
        clearTimeout(deadline);
        resolve();
      };
      this.#waiters.push(check);
    });
  }

  /** The snapshot `actor` produced when it processed its `n`-th event of `eventType` (1-based). */
  async processed(actor: ObservedActor, eventType: string, n: number): Promise<AnyMachineSnapshot> {
    await this.until(() => actor.count(eventType) >= n, `${actor.machineId} processes ${eventType} #${n}`);
    return actor.steps.filter((s) => s.eventType === eventType)[n - 1]!.snapshot;
  }
}

/** A client that never reads after the upgrade: the server's close handshakes and pings stay unanswered unless the test answers. */
export function pausedClient(url: string, token?: string): Promise<WebSocket> {
  const ws = new WebSocket(url, token === undefined ? ['lockstep.v1'] : ['lockstep.v1', `lockstep.bearer.${token}`]);
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.pause();
      resolve(ws);
    });
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
}
