/**
 * A value that is either here now or will be. The in-memory log answers synchronously and
 * must keep doing so (the connection machine's mailbox order relies on it); the Redis log
 * answers with promises. `andThen` keeps a synchronous value synchronous.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** `fn(value)` now when `value` is here, else once it resolves. */
export function andThen<T, R>(value: MaybePromise<T>, fn: (resolved: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromise(value) ? value.then(fn) : fn(value);
}
