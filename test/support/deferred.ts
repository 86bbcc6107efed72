/** A promise the test settles by hand (a backend whose readiness the test releases, an answer a handler reports). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (e: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a rejection is observed by whoever awaits it
  return { promise, resolve, reject };
}
