/**
 * Synchronous stand-ins for the invoked actors that the server implements with promises
 * (`verifyToken`, `checkBackend`, `verifyRefresh`), so a scenario runs with no event-loop turn.
 *
 * A stand-in is `fromPromise`'s own actor logic with two parts replaced: `start` creates no
 * promise and only tells the scenario the actor is waiting, and one more event settles it the
 * way the promise's `then` would (`fromPromise` relays `xstate.promise.resolve`/`reject` to
 * itself): its snapshot becomes `done` with the output, or `error` with the error. The Actor
 * then does what it does for every child that finishes — it notifies its parent with
 * `xstate.done.actor.<id>` (output) or `xstate.error.actor.<id>` (error) — so the machine that
 * invoked it sees exactly the events a promise actor would have sent.
 *
 * A promise never settles inside the call that started it, only after the current call stack
 * (the command and every transition it caused) has run; the scenario settles stand-ins at that
 * same point, after each command, in the order they started.
 */
import { fromPromise, type AnyActorRef, type AnyActorScope, type PromiseActorLogic, type PromiseSnapshot } from 'xstate';

/** The event that settles a stand-in (the scenario sends it; nothing else does). */
export const SETTLE_STAND_IN = 'lockstep.scenario.settle';

/** How a stand-in settles: as its promise would resolve (with `output`) or reject (with `error`). */
export type StandInOutcome = { ok: true; output: unknown } | { ok: false; error: unknown };

interface SettleEvent {
  type: typeof SETTLE_STAND_IN;
  outcome: StandInOutcome;
}

/** The logic of a stand-in whose start is reported to `onStart` (with the actor and its system). */
export function standIn<TOutput, TInput>(
  onStart: (self: AnyActorRef, system: AnyActorScope['system']) => void,
): PromiseActorLogic<TOutput, TInput> {
  const base = fromPromise<TOutput, TInput>(() => new Promise<TOutput>(() => {}));
  return {
    ...base,
    transition: (snapshot, event, scope) => {
      if (event.type !== SETTLE_STAND_IN || snapshot.status !== 'active') return base.transition(snapshot, event, scope);
      const { outcome } = event as unknown as SettleEvent;
      // The same snapshots fromPromise's transition makes for resolve and reject.
      const settled = outcome.ok
        ? { ...snapshot, status: 'done', output: outcome.output, input: undefined }
        : { ...snapshot, status: 'error', error: outcome.error, input: undefined };
      return settled as PromiseSnapshot<TOutput, TInput>;
    },
    start: (snapshot, scope) => {
      if (snapshot.status === 'active') onStart(scope.self, scope.system);
    },
  };
}

/** Settles a started stand-in (from outside any transition, as a promise's `then` would). */
export function settleStandIn(ref: AnyActorRef, outcome: StandInOutcome): void {
  ref.send({ type: SETTLE_STAND_IN, outcome } satisfies SettleEvent);
}
