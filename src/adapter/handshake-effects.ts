/**
 * The handshake's effects → the embedder's verifier and readiness check. The connection machine
 * asks (`verifyToken`, `checkBackend`, and `verifyRefresh` for a token refresh after ready); these run the check and report its outcome to the actor
 * as a fact (`auth.verified` / `auth.refused`, `backend.ready` / `backend.unavailable`), always
 * in a later microtask, never inside the transition that asked. They decide nothing: an answer
 * that comes after the machine moved on (timeout, close) is the machine's to ignore, and none
 * is sent to an actor that has already stopped.
 */
import type { ConnectionSelf } from './socket-effects.js';
import type { HandshakeEvent, VerifiedIdentity } from '../../machines/handshake.js';
import type { ConnectionEvent } from '../../machines/connection.js';
import { isPromise } from '../delivery/maybe-promise.js';

/** The checks a server performs for a handshake (a sync throw counts as a rejection). */
export interface HandshakeChecks {
  /** The identity a token stands for (`verifiedAt` included when the server has a wall clock). */
  verify(token: string): Promise<VerifiedIdentity> | VerifiedIdentity;
  /** Resolves when new connections may be accepted. */
  backendReady(): Promise<void> | void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs the check now and hands its outcome to `answer` (or its fault to `fail`) in a later
 * microtask: at once when the check answered synchronously, when its promise settles otherwise.
 * A fault in `answer` itself (reading the answer) reaches `fail` too: every ask is answered once.
 * One microtask and no promise for a synchronous check (the promise chain cost three of each).
 */
function ask<T>(run: () => PromiseLike<T> | T, answer: (value: T) => void, fail: (error: unknown) => void): void {
  const settle = (value: T) => {
    try {
      answer(value);
    } catch (error) {
      fail(error);
    }
  };
  let outcome: PromiseLike<T> | T;
  try {
    outcome = run();
  } catch (error) {
    queueMicrotask(() => fail(error));
    return;
  }
  if (isPromise(outcome as Promise<T>)) (outcome as PromiseLike<T>).then(settle, fail);
  else queueMicrotask(() => settle(outcome as T));
}

function report(self: ConnectionSelf, event: HandshakeEvent | ConnectionEvent): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}

/** The identity as the verifier answered, as an event (only the identity's fields: a verifier's object carries no `type`). */
function verifiedEvent(identity: Partial<VerifiedIdentity> | undefined | null): HandshakeEvent {
  const event: HandshakeEvent = { type: 'auth.verified', userId: identity?.userId as string };
  if (identity?.expiresAt !== undefined) event.expiresAt = identity.expiresAt;
  if (identity?.verifiedAt !== undefined) event.verifiedAt = identity.verifiedAt;
  return event;
}

/** The machine's `verifyToken` and `checkBackend` actions, performed with `checks`. */
export function handshakeEffects(checks: HandshakeChecks) {
  return {
    verifyToken: ({ self }: { self: ConnectionSelf }, params: { token: string }): void => {
      // Asked now (as a promise actor would have started now), answered in a later microtask.
      // The second handler also catches a fault in reading the answer: every ask is answered.
      ask(
        () => checks.verify(params.token),
        (identity) => report(self, verifiedEvent(identity)),
        (error: unknown) => report(self, { type: 'auth.refused', reason: messageOf(error) }),
      );
    },
    /** A token refresh (an `auth` frame after ready): the same check, answered `refresh.verified` / `refresh.refused`. */
    verifyRefresh: ({ self }: { self: ConnectionSelf }, params: { token: string }): void => {
      ask(
        () => checks.verify(params.token),
        (identity) => report(self, Object.assign(verifiedEvent(identity), { type: 'refresh.verified' }) as ConnectionEvent),
        (error: unknown) => report(self, { type: 'refresh.refused', reason: messageOf(error) }),
      );
    },
    checkBackend: ({ self }: { self: ConnectionSelf }): void => {
      ask(
        () => checks.backendReady(),
        () => report(self, { type: 'backend.ready' }),
        (error: unknown) => report(self, { type: 'backend.unavailable', reason: messageOf(error) }),
      );
    },
  };
}
