/**
 * Forks a running scenario: a second actor in exactly the state of the first — same machine
 * snapshot, same children, same pending timers, same harness (effects, stream, answers) — so
 * that two continuations of one prefix need not replay it. What a model checker does when it
 * explores every branch from a shared state.
 *
 * The actor comes from XState's own persistence (`getPersistedSnapshot()`, restored with
 * `createActor(machine, { snapshot })`), which restores children (a token refresh's waiting
 * stand-in) but not delayed events (statelyai/xstate#5331); those are re-armed from the
 * original's clock (./scenario-clock.ts). Contexts are shared between the two actors, which is
 * safe because XState never mutates a context: every `assign` makes a new one.
 */
import { createActor, type AnyActorRef, type EventObject, type Snapshot } from 'xstate';
import { connectionMachine } from '../../machines/connection.js';
import { attachDataPath, bindHarness, lockstepDataPath, observeErrors, scenarioMachine, type Harness, type RunScenarioOptions, type ScenarioRun } from './connection-scenario.js';

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

/**
 * A copy of a running scenario that continues independently of it. `persisted`: the actor's
 * persisted snapshot if already taken (several forks of one state can share it).
 */
export function forkScenario(run: ScenarioRun, options: RunScenarioOptions = {}, persisted: unknown = run.actor.getPersistedSnapshot()): ScenarioRun {
  const clock = run.clock.forkTime();
  options.onClock?.(clock);
  const original = run.harness;
  const harness: Harness = { ...original, effects: original.effects.slice(), log: original.log.slice(), pending: [] };
  // The input only matters to a fresh actor's initial state; a restored one has its context.
  const input = { connectionId: 'c', token: undefined, limits: run.head.limits };
  const actor = createActor(scenarioMachine(options.machine ?? connectionMachine), { clock, snapshot: persisted as Snapshot<unknown>, input });
  clock.system = actor.system as unknown as PendingDelayedEvents;
  bindHarness(actor.system, harness);
  const fork: ScenarioRun = {
    head: run.head,
    actor,
    clock,
    harness,
    steps: run.steps.slice(),
    sentMessageIds: run.sentMessageIds.slice(),
    statesSeen: new Set(run.statesSeen),
    socketGone: run.socketGone,
    error: run.error,
  };
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
  // The questions still open, in the original's order: the handshake's (asked of the harness,
  // answered to the actor) and the waiting stand-ins (restored with the snapshot, registered again).
  const waiting = original.pending.filter(({ ref }) => ref.getSnapshot().status === 'active');
  const standIns = waiting.filter(({ dependency }) => dependency === 'refresh').length;
  if (standIns !== harness.pending.length) throw new Error('forkScenario: the restored stand-ins are not the waiting ones');
  harness.pending = waiting.map(({ ref, dependency }) => ({ ref: counterpart(ref), dependency }));
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
