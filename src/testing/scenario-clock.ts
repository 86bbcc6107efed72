/**
 * The scenarios' clock: XState's SimulatedClock, plus what a fork needs to copy its timers.
 *
 * XState v5 does not restore delayed events from a persisted snapshot (statelyai/xstate#5331:
 * an `after` timer pending when the snapshot was taken never fires in the restored actor). So a
 * fork re-arms them itself: for every timer of the original clock, in the order they were set,
 * the same delayed event is scheduled again in the new actor system, and this clock gives the
 * new timer the original's id, start and duration. SimulatedClock fires due timers in an order
 * computed from exactly those (and their insertion order), so the fork fires the same events at
 * the same simulated times, in the same order, as the original would.
 */
import { SimulatedClock } from 'xstate';

/** SimulatedClock's fields (private in its typings, plain properties at runtime). */
interface SimulatedClockInternals {
  timeouts: Map<number, { start: number; timeout: number; fn: () => void }>;
  _now: number;
  _id: number;
  _flushing: boolean;
  _flushingInvalidated: boolean;
}

/** The part of an actor system the clock looks at: its pending delayed events, by key. */
export interface ScheduledEvents {
  _snapshot: { _scheduledEvents: Record<string, { delay: number }> };
}

/** A timer to re-create with the original's identity (see `ScenarioClock.arm`). */
export interface TimerIdentity {
  id: number;
  start: number;
  timeout: number;
}

export class ScenarioClock extends SimulatedClock {
  /** The system whose scheduler sets this clock's timers (to learn which delayed event each one is); unset for a MachineRunner. */
  system: ScheduledEvents | undefined;
  /** The scheduled-event key of each pending timer, by timer id. */
  readonly keys = new Map<number, string>();
  private arming: TimerIdentity | undefined;

  private get internals(): SimulatedClockInternals {
    return this as unknown as SimulatedClockInternals;
  }

  override setTimeout(fn: () => void, timeout: number): number {
    const arming = this.arming;
    let id: number;
    if (arming === undefined) {
      id = super.setTimeout(fn, timeout);
    } else {
      this.arming = undefined;
      const clock = this.internals;
      clock._flushingInvalidated = clock._flushing;
      clock.timeouts.set(arming.id, { start: arming.start, timeout: arming.timeout, fn });
      id = arming.id;
    }
    // A MachineRunner's timers need no key here (it lists its own pending delays).
    if (this.system === undefined) return id;
    // XState's scheduler records the delayed event under its key, then sets the timer: the
    // event just recorded is this timer's.
    const events = this.system._snapshot._scheduledEvents;
    let key: string | undefined;
    for (const candidate in events) key = candidate;
    if (key === undefined || events![key]!.delay !== timeout) {
      throw new Error('ScenarioClock: a timer was set that is not the delayed event just scheduled');
    }
    this.keys.set(id, key);
    return id;
  }

  override clearTimeout(id: number): void {
    super.clearTimeout(id);
    this.keys.delete(id);
  }

  /** The pending timers in the order they were set, with their scheduled-event keys. */
  pendingTimers(): (TimerIdentity & { key: string })[] {
    return [...this.internals.timeouts].map(([id, { start, timeout }]) => ({ id, start, timeout, key: this.keys.get(id)! }));
  }

  /** A clock at the same time, whose next timer ids follow the original's (no timers yet: see `arm`). */
  forkTime(): ScenarioClock {
    const fork = new ScenarioClock();
    fork.internals._now = this.internals._now;
    fork.internals._id = this.internals._id;
    return fork;
  }

  /** The next `setTimeout` re-creates this timer (same id, start and duration) instead of a new one. */
  arm(timer: TimerIdentity): void {
    this.arming = timer;
  }
}
