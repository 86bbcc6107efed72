/**
 * Write coalescing: every frame a connection sends during one event-loop turn leaves in one
 * `writev` instead of one syscall per frame. The first write of a turn corks the TCP socket;
 * one shared `setImmediate` (the check phase, right after the I/O callbacks of the turn)
 * uncorks every socket corked meanwhile. A message's ack and its run's events are written in
 * the same turn, so a pipelined client costs one syscall per read, not three per message.
 * Order is untouched (cork only delays the flush), so this is not an ordering mechanism:
 * ws's own per-frame cork/uncork nests inside ours, and `end()`/`destroy()` flush or drop
 * corked data exactly as they would buffered data.
 */
import type { Writable } from 'node:stream';

export class WriteBatcher {
  readonly #corked = new Set<Writable>();
  readonly #flush = (): void => {
    for (const stream of this.#corked) stream.uncork();
    this.#corked.clear();
  };

  /** Call before writing to `stream`: the write joins this turn's batch. */
  batch(stream: Writable): void {
    if (this.#corked.has(stream) || stream.destroyed) return;
    stream.cork();
    this.#corked.add(stream);
    if (this.#corked.size === 1) setImmediate(this.#flush);
  }
}
