/**
 * A machine without an actor system: XState's own transition function (`machine.transition`,
 * the ActorLogic method an Actor calls for every event) applied to one snapshot, with the
 * Actor's delivery rules (a mailbox: an event sent while a transition runs is processed after
 * it, in order; actions run as the transition reaches them; observers see every snapshot) and
 * none of its per-actor machinery: no system (closures, maps, a scheduler per root actor), no
 * inspection, no children. Delayed events (`after`) go to the clock it is given — one timer per
 * pending delay, cancelled when XState cancels it.
 *
 * Why: a connection is one machine with no children, and an idle server holds thousands of them;
 * the actor and its system were most of an idle connection's heap and of its setup cost
 * (bench/README.md). The machine is the same definition, interpreted by the same XState code;
 * only the wrapper is smaller. Each step is XState's macrostep with what depends only on the
 * definition computed once per configuration (compiled-machine.ts, proven equal to
 * `machine.transition`); `stepper: 'xstate'` calls XState's own transition instead. Connections that are traced or inspected keep a full Actor (the
 * trace and the Stately inspector read its inspection events); the equivalence of the two on
 * every sequence of events and timer advances is a property (test/properties/machine-runner.test.ts).
 *
 * It accepts only what such a machine needs: a machine that invokes or spawns an actor, or uses
 * an action this runner cannot perform (`sendTo`, `emit`, …), fails at that action with an error
 * naming it, as the machine's fault (the snapshot's status becomes `error`, observers hear it).
 */
import type { AnyStateMachine, EventFromLogic, Observer, SnapshotFrom, Subscription } from 'xstate';
import { compileMachine, type CompiledMachine } from './compiled-machine.js';

/** The timers a runner schedules delays on: XState's `Clock` (SimulatedClock in tests). */
export interface RunnerClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

const REAL_CLOCK: RunnerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/**
 * What the transition code asks of an actor system: only inspection hooks, which are off here.
 * One object for every runner.
 */
const NO_SYSTEM = Object.freeze({
  _sendInspectionEvent: () => {},
  _relay: () => {
    throw new Error('MachineRunner: a machine run without an actor system cannot send to other actors');
  },
  _unregister: () => {},
  // Creating a child actor (invoke, spawn) starts by booking a session id in the system.
  _bookId: () => {
    throw new Error('MachineRunner: a machine that invokes or spawns actors needs an Actor');
  },
});

/** The part of an Actor that the server and its effects use; Actor and MachineRunner both are one. */
export interface MachineRef<TMachine extends AnyStateMachine> {
  send(event: EventFromLogic<TMachine>): void;
  getSnapshot(): SnapshotFrom<TMachine>;
  subscribe(observer: Observer<SnapshotFrom<TMachine>>): Subscription;
  start(): unknown;
  stop(): unknown;
}

/** An executable action as XState hands it to an actor scope's `actionExecutor`. */
export interface ExecutableAction {
  type: string;
  info: unknown;
  params: unknown;
  exec: ((info: unknown, params: unknown) => void) | undefined;
}

type Status = 'notStarted' | 'running' | 'stopped';

const NO_OBSERVERS: never[] = [];

// As an Actor does: an error nobody handles, or an observer's own fault, is thrown in a later
// task (an uncaught exception there), never into the transition that reported it.
function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

function notify(call: () => void): void {
  try {
    call();
  } catch (error) {
    reportLater(error);
  }
}

/**
 * Runs `machine` from its initial snapshot for `input`. The object is its own actor scope (what
 * XState's transition code receives as `actorScope`): `self` is the runner, so effects that send
 * back to `self` reach this mailbox.
 */
export class MachineRunner<TMachine extends AnyStateMachine> implements MachineRef<TMachine> {
  readonly id = '';
  readonly sessionId = '';
  readonly system = NO_SYSTEM;
  #machine: TMachine;
  #compiled: CompiledMachine | undefined;
  #clock: RunnerClock;
  #snapshot: SnapshotFrom<TMachine>;
  #status: Status = 'notStarted';
  // Events sent while a transition runs (from its actions), in order; none is allocated until then.
  #mailbox: EventFromLogic<TMachine>[] | undefined;
  #processing = false;
  // Actions and deferred work reached before start (the initial entry actions) wait for it, as an Actor's do.
  #deferred: (() => void)[] | undefined;
  #timers: Map<string, { event: EventFromLogic<TMachine>; timer: unknown }> | undefined;
  // Array literals sized to their content: an idle connection holds no spare capacity.
  #observers: Observer<SnapshotFrom<TMachine>>[] = NO_OBSERVERS;
  #anonymous = 0;

  /**
   * `snapshot`: continue from this snapshot instead of the initial one (as an Actor's `snapshot`
   * option; no entry action runs again). Snapshots are immutable, so one may seed many runners;
   * its pending delays are not in it — carry them over with `scheduleDelay`.
   * `stepper`: `'compiled'` (the default: compiled-machine.ts, for every machine it covers) or
   * `'xstate'` (XState's own `machine.transition` for every step).
   */
  constructor(
    machine: TMachine,
    options: { input?: unknown; clock?: RunnerClock | undefined; snapshot?: SnapshotFrom<TMachine>; stepper?: 'compiled' | 'xstate' } = {},
  ) {
    this.#machine = machine;
    this.#compiled = options.stepper === 'xstate' ? undefined : compileMachine(machine);
    this.#clock = options.clock ?? REAL_CLOCK;
    this.#snapshot =
      options.snapshot ??
      ((this.#compiled ? this.#compiled.getInitialSnapshot(this, options.input) : machine.getInitialSnapshot(this as never, options.input)) as SnapshotFrom<TMachine>);
  }

  /** The delayed events pending now, in the order they were set: XState's id, the event, the clock's timer handle. */
  pendingDelays(): { id: string; event: EventFromLogic<TMachine>; timer: unknown }[] {
    return [...(this.#timers ?? [])].map(([id, { event, timer }]) => ({ id, event, timer }));
  }

  /** Sets a delayed event as the machine's `after` or delayed `raise` does (a fork carries its original's over). */
  scheduleDelay(id: string, event: EventFromLogic<TMachine>, delayMs: number): void {
    this.#cancel(id);
    const timers = (this.#timers ??= new Map());
    const timer = this.#clock.setTimeout(() => {
      this.#timers?.delete(id);
      this.send(event);
    }, delayMs);
    timers.set(id, { event, timer });
  }

  get self(): this {
    return this;
  }

  /** Actor scope: the transition code defers work until the new snapshot is in place. */
  defer(fn: () => void): void {
    (this.#deferred ??= []).push(fn);
  }

  logger(): void {}

  emit(): void {
    throw new Error('MachineRunner: `emit` needs an Actor');
  }

  stopChild(): void {
    throw new Error('MachineRunner: a machine with child actors needs an Actor');
  }

  /**
   * Actor scope: every action the transition reaches, in order. An own property, not a method:
   * XState wraps it for each microstep and calls the saved function unbound.
   */
  readonly actionExecutor = (action: ExecutableAction): void => {
    if (this.#status === 'running') this.#perform(action);
    else (this.#deferred ??= []).push(() => this.#perform(action));
  };

  getSnapshot(): SnapshotFrom<TMachine> {
    return this.#snapshot;
  }

  subscribe(observer: Observer<SnapshotFrom<TMachine>>): Subscription {
    this.#observers = [...this.#observers, observer];
    return {
      unsubscribe: () => {
        this.#observers = this.#observers.filter((o) => o !== observer);
      },
    };
  }

  start(): this {
    if (this.#status !== 'notStarted') return this;
    this.#status = 'running';
    this.#update(this.#snapshot);
    this.#drain();
    return this;
  }

  send(event: EventFromLogic<TMachine>): void {
    if (this.#status === 'stopped') return;
    (this.#mailbox ??= []).push(event);
    if (this.#status === 'running') this.#drain();
  }

  /** Stops without running exit actions (as Actor.stop): timers cancelled, observers completed. */
  stop(): this {
    if (this.#status === 'stopped') return this;
    if (this.#status === 'notStarted') {
      this.#status = 'stopped';
      return this;
    }
    this.#mailbox = [{ type: 'xstate.stop' } as EventFromLogic<TMachine>];
    this.#drain();
    return this;
  }

  #drain(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      for (let event = this.#mailbox?.shift(); event !== undefined; event = this.#mailbox?.shift()) {
        if (this.#status !== 'running') break;
        let next: SnapshotFrom<TMachine>;
        try {
          next = (
            this.#compiled
              ? this.#compiled.transition(this.#snapshot as never, event as never, this)
              : this.#machine.transition(this.#snapshot, event, this as never)
          ) as SnapshotFrom<TMachine>;
        } catch (error) {
          this.#fail(error);
          break;
        }
        this.#update(next);
      }
    } finally {
      this.#processing = false;
      this.#mailbox = undefined;
    }
  }

  #update(snapshot: SnapshotFrom<TMachine>): void {
    this.#snapshot = snapshot;
    const deferred = this.#deferred;
    this.#deferred = undefined;
    if (deferred !== undefined) {
      for (const fn of deferred) {
        try {
          fn();
        } catch (error) {
          this.#fail(error);
          return;
        }
      }
    }
    const status = (snapshot as { status: string }).status;
    if (status === 'active' || status === 'done') {
      for (const observer of this.#observers) {
        try {
          observer.next?.(snapshot);
        } catch (error) {
          reportLater(error);
        }
      }
    }
    if (status === 'done' || status === 'stopped') this.#finish(() => {
      for (const observer of this.#observers) notify(() => observer.complete?.());
    });
  }

  #fail(error: unknown): void {
    this.#deferred = undefined;
    this.#snapshot = Object.assign({}, this.#snapshot as object, { status: 'error', error }) as SnapshotFrom<TMachine>;
    this.#finish(() => {
      if (this.#observers.length === 0) reportLater(error);
      for (const observer of this.#observers) notify(() => (observer.error ? observer.error(error) : reportLater(error)));
    });
  }

  #finish(notify: () => void): void {
    this.#status = 'stopped';
    this.#mailbox = undefined;
    if (this.#timers) for (const { timer } of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers = undefined;
    notify();
    this.#observers = NO_OBSERVERS;
  }

  #perform(action: ExecutableAction): void {
    switch (action.type) {
      case 'xstate.raise': {
        const { event, delay, id } = action.params as { event: EventFromLogic<TMachine>; delay: number | undefined; id: string | undefined };
        // An undelayed raise was queued inside the transition already.
        if (typeof delay === 'number') this.scheduleDelay(id ?? `lockstep.raise.${++this.#anonymous}`, event, delay);
        return;
      }
      case 'xstate.cancel':
        this.#cancel((action.params as { sendId: string }).sendId);
        return;
      case 'xstate.sendTo':
      case 'xstate.sendParent':
      case 'xstate.emit':
      case 'xstate.spawnChild':
      case 'xstate.stopChild':
        throw new Error(`MachineRunner: the action ${action.type} needs an Actor`);
      default:
        action.exec?.(action.info, action.params);
    }
  }

  #cancel(id: string): void {
    const pending = this.#timers?.get(id);
    if (pending === undefined) return;
    this.#clock.clearTimeout(pending.timer);
    this.#timers!.delete(id);
  }
}
