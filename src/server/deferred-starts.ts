/**
 * Work that must wait until the code queueing it has returned (a transition committed, a data
 * path's write ended), run in queue order by one microtask per batch. A socket chunk holds many
 * frames from a pipelining client, and Node's `queueMicrotask` costs an AsyncResource, a bound
 * function and a closure per call: one per batch instead of one per accepted message.
 *
 * Each item is a pair kept in two arrays (no object per item). An item that throws is reported
 * to `onError` and the ones after it still run: a fault in one never loses another's start, and
 * never becomes an uncaught exception that would take the process down.
 */
export class DeferredStarts<A, B> {
  readonly #first: A[] = [];
  readonly #second: B[] = [];
  readonly #run: (first: A, second: B) => void;
  readonly #onError: (error: unknown, first: A, second: B) => void;
  #next = 0;
  #scheduled = false;

  constructor(run: (first: A, second: B) => void, onError: (error: unknown, first: A, second: B) => void) {
    this.#run = run;
    this.#onError = onError;
  }

  /** Queues `run(first, second)` after every item queued before it. */
  add(first: A, second: B): void {
    this.#first.push(first);
    this.#second.push(second);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  /** Items queued and not yet run. */
  get pending(): number {
    return this.#first.length - this.#next;
  }

  readonly #drain = (): void => {
    // Items queued while draining (by an item) run in this same pass, after the ones before them.
    while (this.#next < this.#first.length) {
      const index = this.#next++;
      const first = this.#first[index]!;
      const second = this.#second[index]!;
      try {
        this.#run(first, second);
      } catch (error) {
        this.#onError(error, first, second);
      }
    }
    this.#first.length = 0;
    this.#second.length = 0;
    this.#next = 0;
    this.#scheduled = false;
  };
}
