/**
 * Forks a running scenario: a second connection in exactly the state of the first — same machine
 * snapshot, same pending timers, same harness (effects, stream, answers) — so that two
 * continuations of one prefix need not replay it. What a model checker does when it explores
 * every branch from a shared state.
 *
 * A MachineRunner (the default driver, as the server runs connections) forks from its snapshot
 * itself: snapshots are immutable (every `assign` makes a new context), so both runners share
 * it, and the pending delayed events are set again on the fork's clock with the original's timer
 * identities (./scenario-clock.ts), so they fire at the same simulated times in the same order.
 *
 * A full Actor (the `actor` driver) forks through XState's own persistence
 * (`getPersistedSnapshot()`, restored with `createActor(machine, { snapshot })`), which restores
 * children (the connection machine has none) but not delayed events (statelyai/xstate#5331);
 * those are re-armed from the original's clock.
 */
import { createActor, type AnyActorRef, type EventObject, type Snapshot, type SnapshotFrom } from 'xstate';
import { connectionMachine } from '../../machines/connection.js';
import { MachineRunner } from '../runtime/machine-runner.js';
import { attachDataPath, bindHarness, lockstepDataPath, observeErrors, scenarioMachine, ScenarioRunner, type ConnectionMachine, type Harness, type RunScenarioOptions, type ScenarioRun } from './connection-scenario.js';

/** What the fork reads of the original's system: its pending delayed events (internal to XState). */
interface PendingDelayedEvents {
  _snapshot: { _scheduledEvents: Record<string, { source: AnyActorRef; target: AnyActorRef; event: EventObject; delay: number; id: string }> };
}

/** Pairs every actor of the original tree with its restored counterpart (same ids, same places). */
function pairActors(original: AnyActorRef, restored: AnyActorRef, pairs: Map<AnyActorRef, AnyActorRef>): void {
  pairs.set(original, restored);
  const originalChildren = (original.getSnapshot() as { children?: Record<string, AnyActorRef> }).children;
  const restoredChildren = (restored.getSnapshot() as { children?: Record<string, AnyActorRef> }).children;
  for (const id in originalChildren) {
    const counterpart = restoredChildren?.[id];
    if (counterpart === undefined) throw new Error(`forkScenario: child "${id}" was not restored`);
    pairActors(originalChildren[id]!, counterpart, pairs);
  }
}

/** What a fork starts from: the runner's snapshot, or the actor's persisted snapshot (several forks of one state can share it). */
export function forkSeed(run: ScenarioRun): unknown {
  return run.actor instanceof MachineRunner ? run.actor.getSnapshot() : run.actor.getPersistedSnapshot();
}

/** The fork's record of what happened so far: copies of the original's, continuing independently. */
function forkRun(run: ScenarioRun, actor: ScenarioRun['actor'], clock: ScenarioRun['clock'], harness: Harness): ScenarioRun {
  return {
    head: run.head,
    actor,
    clock,
    harness,
    steps: run.steps.slice(),
    sentMessageIds: run.sentMessageIds.slice(),
    socketGone: run.socketGone,
    error: run.error,
  };
}

/**
 * A copy of a running scenario that continues independently of it. `seed`: `forkSeed(run)` if
 * already taken (several forks of one state can share it).
 */
export function forkScenario(run: ScenarioRun, options: RunScenarioOptions = {}, seed: unknown = forkSeed(run)): ScenarioRun {
  const clock = run.clock.forkTime();
  options.onClock?.(clock);
  const original = run.harness;
  // The fork's own clock tells the time of its frames and join answers (the original's may stand still).
  const harness: Harness = { ...original, now: () => clock.now(), effects: original.effects.slice(), log: original.log.slice(), pending: [] };
  if (run.actor instanceof MachineRunner) return forkRunner(run, run.actor, seed, options, clock, harness);
  const persisted = seed;
  // The input only matters to a fresh actor's initial state; a restored one has its context.
  const input = { connectionId: 'c', token: undefined, limits: run.head.limits };
  const actor = createActor(scenarioMachine(options.machine ?? connectionMachine), { clock, snapshot: persisted as Snapshot<unknown>, input });
  clock.system = actor.system as unknown as PendingDelayedEvents;
  bindHarness(actor, harness);
  const fork = forkRun(run, actor, clock, harness);
  // The data path is the harness's and bound to the original's effects and actor: rebuilt for the fork, in the same mode.
  attachDataPath(fork, original.path === undefined ? false : (options.dataPath ?? lockstepDataPath), original.path);
  observeErrors(fork);
  // Starting a restored actor starts its restored children (a waiting stand-in registers again).
  actor.start();

  const pairs = new Map<AnyActorRef, AnyActorRef>();
  pairActors(run.actor, actor, pairs);
  const counterpart = (ref: AnyActorRef) => {
    const paired = pairs.get(ref);
    if (paired === undefined) throw new Error('forkScenario: a delayed event or stand-in of an actor outside the tree');
    return paired;
  };
  // The questions still open (asked of the harness, answered to the actor), in the original's order.
  const waiting = original.pending.filter(({ ref }) => ref.getSnapshot().status === 'active');
  harness.pending = waiting.map(({ ref, dependency }) => ({ ref: counterpart(ref as AnyActorRef), dependency }));
  // The pending timers, in the order they were set, with their ids, starts and durations.
  const delayed = (run.actor.system as unknown as PendingDelayedEvents)._snapshot._scheduledEvents;
  for (const timer of run.clock.pendingTimers()) {
    const scheduled = delayed[timer.key];
    if (scheduled === undefined) throw new Error(`forkScenario: timer ${timer.id} has no delayed event`);
    clock.arm(timer);
    actor.system.scheduler.schedule(counterpart(scheduled.source), counterpart(scheduled.target), scheduled.event, scheduled.delay, scheduled.id);
  }
  return fork;
}

/** The runner's fork: the same snapshot, the same questions open, the same delays pending. */
function forkRunner(
  run: ScenarioRun,
  original: MachineRunner<ConnectionMachine>,
  seed: unknown,
  options: RunScenarioOptions,
  clock: ScenarioRun['clock'],
  harness: Harness,
): ScenarioRun {
  const machine = scenarioMachine(options.machine ?? connectionMachine);
  const runner = new ScenarioRunner(machine, { clock, snapshot: seed as SnapshotFrom<ConnectionMachine> });
  bindHarness(runner, harness);
  const fork = forkRun(run, runner, clock, harness);
  attachDataPath(fork, run.harness.path === undefined ? false : (options.dataPath ?? lockstepDataPath), run.harness.path);
  observeErrors(fork);
  runner.start();
  // The handshake's questions still open, in the original's order, now answered to the fork.
  harness.pending = run.harness.pending
    .filter(({ ref }) => ref.getSnapshot().status === 'active')
    .map(({ ref, dependency }) => {
      if (ref !== original) throw new Error('forkScenario: a question asked by something other than the connection');
      return { ref: runner, dependency };
    });
  const timers = new Map(run.clock.pendingTimers().map((t) => [t.id, t]));
  for (const delay of original.pendingDelays()) {
    const timer = timers.get(delay.timer as number);
    if (timer === undefined) throw new Error(`forkScenario: the delay ${delay.id} has no timer`);
    clock.arm(timer);
    runner.scheduleDelay(delay.id, delay.event, timer.timeout);
  }
  return fork;
}
