/**
 * The client's position in its user's stream: `(epoch, lastSeq)`, the resume point it asks
 * for on every reconnect (`?epoch&lastSeq`). Pure rules, so the runtime decides nothing:
 *
 * - `readyOutcome`: what a `ready` frame means against the stored point (resumed, a refused
 *   resume with what may be missing, another user's state, or a fresh start);
 * - `position`: where an item falls — the next one, a duplicate, or after a gap. It takes a
 *   range (`fromSeq`…`toSeq`) so a coalesced frame (issue 15) is placed by the same rule; a
 *   plain event is the range `seq…seq`.
 */
import type { ReadyFrame, ResumeFailure } from '../protocol/frames.js';
import type { StoredClientState } from './client-store.js';

/** The resume point, when the client has one. */
export function resumePoint(state: StoredClientState): { epoch: string; lastSeq: number } | undefined {
  return state.epoch !== undefined && state.lastSeq !== undefined ? { epoch: state.epoch, lastSeq: state.lastSeq } : undefined;
}

/** The upgrade URL with `?epoch&lastSeq` when there is a resume point. */
export function resumeUrl(url: string, point: { epoch: string; lastSeq: number } | undefined): string {
  if (point === undefined) return url;
  const target = new URL(url);
  target.searchParams.set('epoch', point.epoch);
  target.searchParams.set('lastSeq', String(point.lastSeq));
  return target.toString();
}

/** What a `ready` frame means for the stored state. */
export type ReadyOutcome =
  /** Nothing to resume: the client starts live from `ready.lastSeq`. */
  | { kind: 'fresh' }
  /** Every event after the stored `lastSeq` follows: nothing missed. */
  | { kind: 'resumed' }
  /** The server could not resume: events after `afterSeq` of `epoch` may be missing; live from `ready.lastSeq` of `ready.epoch`. */
  | { kind: 'missed'; reason: ResumeFailure; epoch: string; afterSeq: number }
  /** The stored state belongs to another user: it is not used. */
  | { kind: 'otherUser'; storedUserId: string };

export function readyOutcome(state: StoredClientState, ready: ReadyFrame): ReadyOutcome {
  if (state.userId !== undefined && state.userId !== ready.userId) return { kind: 'otherUser', storedUserId: state.userId };
  const point = resumePoint(state);
  if (point === undefined) return { kind: 'fresh' };
  if (ready.resumed && ready.epoch === point.epoch) return { kind: 'resumed' };
  return { kind: 'missed', reason: ready.reason ?? (ready.epoch === point.epoch ? 'gap' : 'epoch'), epoch: point.epoch, afterSeq: point.lastSeq };
}

/** Where an item covering `fromSeq`…`toSeq` falls after `lastSeq`. */
export type Position = 'next' | 'duplicate' | 'gap';

export function position(lastSeq: number, fromSeq: number, toSeq: number): Position {
  if (toSeq <= lastSeq) return 'duplicate';
  if (fromSeq <= lastSeq + 1) return 'next';
  return 'gap';
}
