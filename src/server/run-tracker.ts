/** Counts runs whose handler is still executing; `whenIdle()` resolves when none is. */
export class RunTracker {
  #active = 0;
  #idleWaiters: Array<() => void> = [];

  get active(): number {
    return this.#active;
  }

  track(run: Promise<void>): void {
    this.#active += 1;
    void run.finally(() => {
      this.#active -= 1;
      if (this.#active > 0) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    });
  }

  whenIdle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
