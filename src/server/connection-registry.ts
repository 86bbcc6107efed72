/**
 * The live connection actors: created here, observed here (state changes → trace and
 * metrics), removed when they reach `closed` or fail. `whenEmpty()` resolves when the last
 * one is gone, which is how shutdown waits without polling (invariant I10).
 */
import { performance } from 'node:perf_hooks';
import type { SnapshotFrom } from 'xstate';
import type { connectionMachine } from '../../machines/connection.js';
import type { MachineRef } from '../runtime/machine-runner.js';
import { CONNECTION_STATES, type LiveConnectionState, type ServerMetrics } from './metrics.js';
import { LifecycleLog } from './lifecycle-log.js';
import type { Logger } from './logger.js';
import type { TraceEntry } from './options.js';

/** A live connection's machine: a MachineRunner, or a full Actor when traced or inspected. */
export type ConnectionActor = MachineRef<typeof connectionMachine>;

/** The top-level state name of a connection snapshot's value (`ready`, not `{ ready: … }`). */
function topStateOf(value: SnapshotFrom<typeof connectionMachine>['value']): string {
  return typeof value === 'string' ? value : (Object.keys(value)[0] ?? 'unknown');
}

export function topState(actor: ConnectionActor): string {
  return topStateOf(actor.getSnapshot().value);
}

/** What the registry keeps per live connection (one entry, so an idle connection costs one Map slot). */
interface Tracked {
  readonly actor: ConnectionActor;
  /** performance.now() when tracked. */
  readonly startedAt: number;
  /** Top-level state last observed. */
  state: string;
  wasReady: boolean;
  /** performance.now() when it became congested; undefined while flowing. */
  congestedSince: number | undefined;
  /** Early-frame bytes last seen in its context (summed into earlyBytesTotal). */
  earlyBytes: number;
}

/** Whether the snapshot's `ready.flow` region is congested or catching up (not `flowing`). */
function isCongested(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || !('ready' in value)) return false;
  const flow = (value.ready as { flow?: unknown }).flow;
  return flow !== undefined && flow !== 'flowing';
}

export class ConnectionRegistry {
  readonly #tracked = new Map<string, Tracked>();
  readonly #metrics: ServerMetrics;
  readonly #log: LifecycleLog;
  readonly #onTrace: ((entry: TraceEntry) => void) | undefined;
  #emptyWaiters: Array<() => void> = [];
  #earlyBytesTotal = 0;

  constructor(metrics: ServerMetrics, logger: Logger, onTrace: ((entry: TraceEntry) => void) | undefined) {
    this.#metrics = metrics;
    this.#log = new LifecycleLog(logger);
    this.#onTrace = onTrace;
  }

  /** Bytes of early frames held by every live connection now: a fact reported with each frame (maxEarlyBytesTotal). */
  get earlyBytesTotal(): number {
    return this.#earlyBytesTotal;
  }

  get size(): number {
    return this.#tracked.size;
  }

  *actors(): IterableIterator<ConnectionActor> {
    for (const entry of this.#tracked.values()) yield entry.actor;
  }

  countByState(): Record<LiveConnectionState, number> {
    const counts = Object.fromEntries(CONNECTION_STATES.map((s) => [s, 0])) as Record<LiveConnectionState, number>;
    for (const { state } of this.#tracked.values()) {
      if (state in counts) counts[state as LiveConnectionState] += 1;
    }
    return counts;
  }

  /**
   * Registers and starts an actor. `onFault` runs when an action throws: that one
   * connection is closed with 1011 and logged, and Node keeps serving everyone else.
   */
  track(connectionId: string, actor: ConnectionActor, onFault: (error: unknown) => void): void {
    const entry: Tracked = { actor, startedAt: performance.now(), state: '', wasReady: false, congestedSince: undefined, earlyBytes: 0 };
    this.#tracked.set(connectionId, entry);
    actor.subscribe({
      next: () => this.#observe(connectionId, entry),
      complete: () => this.#remove(connectionId),
      error: (error) => {
        this.#log.fault({ connectionId, userId: actor.getSnapshot().context.userId }, error);
        onFault(error);
        this.#remove(connectionId, 1011);
      },
    });
    actor.start();
    this.#observe(connectionId, entry);
  }

  /** True when an `onTrace` hook is set: callers skip building entries nobody reads. */
  get tracing(): boolean {
    return this.#onTrace !== undefined;
  }

  trace(entry: TraceEntry): void {
    this.#onTrace?.(entry);
  }

  whenEmpty(): Promise<void> {
    if (this.#tracked.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  // Runs on every snapshot (several per message): a state-name comparison unless something changed.
  #observe(connectionId: string, entry: Tracked): void {
    const snapshot = entry.actor.getSnapshot();
    const state = topStateOf(snapshot.value);
    const { earlyBytes } = snapshot.context;
    if (earlyBytes !== entry.earlyBytes) {
      this.#earlyBytesTotal += earlyBytes - entry.earlyBytes;
      entry.earlyBytes = earlyBytes;
    }
    this.#observeCongestion(connectionId, entry, state, isCongested(snapshot.value));
    if (entry.state === state) return;
    entry.state = state;
    this.#onTrace?.({ kind: 'state', connectionId, state });
    if (state === 'ready') {
      const context = snapshot.context;
      const now = performance.now();
      this.#metrics.handshakeSeconds.observe((now - entry.startedAt) / 1000);
      if (context.heldFrames > 0) this.#metrics.framesHeldBeforeReady.inc(context.heldFrames);
      entry.wasReady = true;
      const facts = { connectionId, userId: context.userId };
      this.#log.ready(facts, now - entry.startedAt, context.heldFrames);
      if (context.stream.resume !== undefined) {
        this.#log.resume(facts, context.stream.resume, {
          resumed: context.stream.resumed,
          lastSeq: context.lastSeq,
          reason: context.stream.resumeFailure,
        });
      }
    }
  }

  // Catching up from the log still counts: the consumer is slow until it is `flowing` again.
  #observeCongestion(connectionId: string, entry: Tracked, state: string, congested: boolean): void {
    const since = entry.congestedSince;
    if (congested === (since !== undefined)) return;
    const facts = { connectionId, userId: entry.actor.getSnapshot().context.userId };
    if (congested) {
      entry.congestedSince = performance.now();
      this.#metrics.congestions.inc();
      this.#onTrace?.({ kind: 'state', connectionId, state: 'ready.congested' });
      this.#log.congested(facts);
    } else {
      entry.congestedSince = undefined;
      // Leaving `ready` while congested is reported by the close line (1008 slow consumer).
      if (state === 'ready' && since !== undefined) this.#log.caughtUp(facts, performance.now() - since);
    }
  }

  #remove(connectionId: string, faultCode?: number): void {
    const entry = this.#tracked.get(connectionId);
    if (entry === undefined) return;
    const context = entry.actor.getSnapshot().context;
    const code = faultCode ?? context.close.code ?? context.close.peerCode ?? 1006;
    this.#metrics.closes.inc({ code: String(code) });
    this.#log.closed(
      { connectionId, userId: context.userId },
      { code, reason: context.close.reason, byServer: faultCode !== undefined || context.close.code !== undefined },
      { lifetimeMs: performance.now() - entry.startedAt, wasReady: entry.wasReady },
    );
    this.#tracked.delete(connectionId);
    this.#earlyBytesTotal -= entry.earlyBytes;
    this.#onTrace?.({ kind: 'state', connectionId, state: 'closed' });
    if (this.#tracked.size === 0) {
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
