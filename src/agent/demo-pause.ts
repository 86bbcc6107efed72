/**
 * The demo agents' simulated work: a pause of `ms` that ends early when `signal` aborts (the
 * user pressed Stop, the run's deadline passed), so an agent that checks `signal.aborted` after
 * each pause stops within one step. The pause stands for the agent's own work; it orders nothing.
 */
export function demoPause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
