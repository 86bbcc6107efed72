/**
 * Write coalescing: every frame a connection sends while Node handles one I/O callback — the
 * frames written synchronously and those written by the promise work that callback started —
 * leaves in one `writev` instead of one syscall per frame. The first write corks the TCP
 * socket; the flush uncorks every socket corked meanwhile. A message's ack (written while ws
 * parses the frame) and its run's events (written by the handler's promise chain) therefore
 * share one syscall, and a pipelined client costs one per read, not three per message.
 *
 * When the flush runs: a microtask queued at the first cork schedules a `process.nextTick`,
 * and Node runs that tick only once the whole microtask queue has drained — after every
 * promise continuation queued behind it — and before it moves on to the next I/O callback.
 * So frames are not held across event-loop phases (no added latency under load), only
 * gathered. Order is untouched: cork delays the flush, never reorders; ws's own per-frame
 * cork/uncork nests inside ours; `end()`/`destroy()` flush or drop corked data exactly as
 * they would buffered data.
 */
import type { Writable } from 'node:stream';

export class WriteBatcher {
  readonly #corked = new Set<Writable>();
  readonly #flush = (): void => {
    for (const stream of this.#corked) stream.uncork();
    this.#corked.clear();
  };
  readonly #flushAfterMicrotasks = (): void => {
    process.nextTick(this.#flush);
  };

  /** Call before writing to `stream`: the write joins the current batch. */
  batch(stream: Writable): void {
    if (this.#corked.has(stream) || stream.destroyed) return;
    stream.cork();
    this.#corked.add(stream);
    if (this.#corked.size === 1) queueMicrotask(this.#flushAfterMicrotasks);
  }
}
