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

/**
 * What the registry keeps per live connection, and the connection's observer (its methods:
 * one object per idle connection, where an observer of closures cost four more).
 */
class Tracked {
  /** performance.now() when tracked. */
  readonly startedAt = performance.now();
  /** Top-level state last observed. */
  state = '';
  wasReady = false;
  /** performance.now() when it became congested; undefined while flowing. */
  congestedSince: number | undefined = undefined;
  /** Early-frame bytes last seen in its context (summed into earlyBytesTotal). */
  earlyBytes = 0;

  constructor(
    readonly registry: ConnectionRegistry,
    readonly connectionId: string,
    readonly actor: ConnectionActor,
  ) {}

  next(): void {
    this.registry.observe(this);
  }

  complete(): void {
    this.registry.remove(this.connectionId);
  }

  error(error: unknown): void {
    this.registry.fault(this, error);
  }
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
  readonly #onFault: (connectionId: string, actor: ConnectionActor) => void;
  #emptyWaiters: Array<() => void> = [];
  #earlyBytesTotal = 0;

  /**
   * `onFault` runs when a connection's action throws: that one connection is closed (1011)
   * and logged, and Node keeps serving everyone else.
   */
  constructor(
    metrics: ServerMetrics,
    logger: Logger,
    onTrace: ((entry: TraceEntry) => void) | undefined,
    onFault: (connectionId: string, actor: ConnectionActor) => void,
  ) {
    this.#metrics = metrics;
    this.#onFault = onFault;
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
   * Registers and starts an actor; the registry's `onFault` runs if one of its actions throws.
   */
  track(connectionId: string, actor: ConnectionActor): void {
    const entry = new Tracked(this, connectionId, actor);
    this.#tracked.set(connectionId, entry);
    actor.subscribe(entry);
    actor.start();
    this.observe(entry);
  }

  /** @internal Its connection's action threw: logged, the connection closed by `onFault`, counted as 1011. */
  fault(entry: Tracked, error: unknown): void {
    this.#log.fault({ connectionId: entry.connectionId, userId: entry.actor.getSnapshot().context.userId }, error);
    this.#onFault(entry.connectionId, entry.actor);
    this.remove(entry.connectionId, 1011);
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

  /** @internal Runs on every snapshot (several per message): a state-name comparison unless something changed. */
  observe(entry: Tracked): void {
    const { connectionId } = entry;
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
      if (this.#log.silent) return;
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

  /** @internal The connection's machine completed (or failed with `faultCode`): counted, logged, forgotten. */
  remove(connectionId: string, faultCode?: number): void {
    const entry = this.#tracked.get(connectionId);
    if (entry === undefined) return;
    const context = entry.actor.getSnapshot().context;
    const code = faultCode ?? context.close.code ?? context.close.peerCode ?? 1006;
    this.#metrics.closes.inc({ code: String(code) });
    if (!this.#log.silent) this.#log.closed(
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
