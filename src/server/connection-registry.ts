/**
 * The live connection actors: created here, observed here (state changes → trace and
 * metrics), removed when they reach `closed` or fail. `whenEmpty()` resolves when the last
 * one is gone, which is how shutdown waits without polling (invariant I10).
 */
import { performance } from 'node:perf_hooks';
import type { Actor } from 'xstate';
import type { connectionMachine } from '../../machines/connection.js';
import { CONNECTION_STATES, type LiveConnectionState, type ServerMetrics } from './metrics.js';
import { LifecycleLog } from './lifecycle-log.js';
import type { Logger } from './logger.js';
import type { TraceEntry } from './options.js';

export type ConnectionActor = Actor<typeof connectionMachine>;

export function topState(actor: ConnectionActor): string {
  const value = actor.getSnapshot().value;
  return typeof value === 'string' ? value : (Object.keys(value)[0] ?? 'unknown');
}

export class ConnectionRegistry {
  readonly #actors = new Map<string, ConnectionActor>();
  readonly #states = new Map<string, string>();
  /** Connection id → when it became congested (performance.now()). */
  readonly #congested = new Map<string, number>();
  /** Connection id → when it was tracked, and whether it ever reached `ready`. */
  readonly #timing = new Map<string, { startedAt: number; wasReady: boolean }>();
  readonly #metrics: ServerMetrics;
  readonly #log: LifecycleLog;
  readonly #onTrace: ((entry: TraceEntry) => void) | undefined;
  #emptyWaiters: Array<() => void> = [];

  constructor(metrics: ServerMetrics, logger: Logger, onTrace: ((entry: TraceEntry) => void) | undefined) {
    this.#metrics = metrics;
    this.#log = new LifecycleLog(logger);
    this.#onTrace = onTrace;
  }

  get size(): number {
    return this.#actors.size;
  }

  actors(): IterableIterator<ConnectionActor> {
    return this.#actors.values();
  }

  countByState(): Record<LiveConnectionState, number> {
    const counts = Object.fromEntries(CONNECTION_STATES.map((s) => [s, 0])) as Record<LiveConnectionState, number>;
    for (const state of this.#states.values()) {
      if (state in counts) counts[state as LiveConnectionState] += 1;
    }
    return counts;
  }

  /**
   * Registers and starts an actor. `onFault` runs when an action throws: that one
   * connection is closed with 1011 and logged, and Node keeps serving everyone else.
   */
  track(connectionId: string, actor: ConnectionActor, onFault: (error: unknown) => void): void {
    const startedAt = performance.now();
    this.#actors.set(connectionId, actor);
    this.#timing.set(connectionId, { startedAt, wasReady: false });
    actor.subscribe({
      next: () => this.#observe(connectionId, actor, startedAt),
      complete: () => this.#remove(connectionId, actor),
      error: (error) => {
        this.#log.fault({ connectionId, userId: actor.getSnapshot().context.userId }, error);
        onFault(error);
        this.#remove(connectionId, actor, 1011);
      },
    });
    actor.start();
    this.#observe(connectionId, actor, startedAt);
  }

  trace(entry: TraceEntry): void {
    this.#onTrace?.(entry);
  }

  whenEmpty(): Promise<void> {
    if (this.#actors.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  #observe(connectionId: string, actor: ConnectionActor, startedAt: number): void {
    const state = topState(actor);
    this.#observeCongestion(connectionId, actor, state);
    if (this.#states.get(connectionId) === state) return;
    this.#states.set(connectionId, state);
    this.#onTrace?.({ kind: 'state', connectionId, state });
    if (state === 'ready') {
      const context = actor.getSnapshot().context;
      this.#metrics.handshakeSeconds.observe((performance.now() - startedAt) / 1000);
      if (context.heldFrames > 0) this.#metrics.framesHeldBeforeReady.inc(context.heldFrames);
      const timing = this.#timing.get(connectionId);
      if (timing) timing.wasReady = true;
      const facts = { connectionId, userId: context.userId };
      this.#log.ready(facts, performance.now() - startedAt, context.heldFrames);
      if (context.resume !== undefined) {
        this.#log.resume(facts, context.resume, {
          resumed: context.resumed,
          lastSeq: context.lastSeq,
          reason: context.resumeFailure,
        });
      }
    }
  }

  #observeCongestion(connectionId: string, actor: ConnectionActor, state: string): void {
    // Catching up from the log still counts: the consumer is slow until it is `flowing` again.
    const snapshot = actor.getSnapshot();
    const congested =
      state === 'ready' &&
      (snapshot.matches({ ready: { flow: 'congested' } }) || snapshot.matches({ ready: { flow: 'catchingUp' } }));
    const since = this.#congested.get(connectionId);
    if (congested === (since !== undefined)) return;
    const facts = { connectionId, userId: snapshot.context.userId };
    if (congested) {
      this.#congested.set(connectionId, performance.now());
      this.#metrics.congestions.inc();
      this.#onTrace?.({ kind: 'state', connectionId, state: 'ready.congested' });
      this.#log.congested(facts);
    } else {
      this.#congested.delete(connectionId);
      // Leaving `ready` while congested is reported by the close line (1008 slow consumer).
      if (state === 'ready' && since !== undefined) this.#log.caughtUp(facts, performance.now() - since);
    }
  }

  #remove(connectionId: string, actor: ConnectionActor, faultCode?: number): void {
    this.#congested.delete(connectionId);
    if (!this.#actors.has(connectionId)) return;
    const context = actor.getSnapshot().context;
    const code = faultCode ?? context.closeCode ?? context.peerCloseCode ?? 1006;
    this.#metrics.closes.inc({ code: String(code) });
    const timing = this.#timing.get(connectionId);
    this.#log.closed(
      { connectionId, userId: context.userId },
      { code, reason: context.closeReason, byServer: faultCode !== undefined || context.closeCode !== undefined },
      { lifetimeMs: timing ? performance.now() - timing.startedAt : 0, wasReady: timing?.wasReady ?? false },
    );
    this.#timing.delete(connectionId);
    this.#actors.delete(connectionId);
    this.#states.delete(connectionId);
    this.#onTrace?.({ kind: 'state', connectionId, state: 'closed' });
    if (this.#actors.size === 0) {
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
