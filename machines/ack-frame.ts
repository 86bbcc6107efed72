/**
 * The ack frame of an accepted message: what the connection machine writes for a
 * `message.accepted` answer and what its ack path writes for one (connection-data-path.ts).
 * On its own so the machine and its data path share it without importing each other.
 */
import type { AckFrame } from '../src/protocol/frames.js';

/** The ack frame for an accepted message (a new run, or `duplicate` with the original run). */
export function ackFrameOf(accepted: { id: string; runId: string; duplicate: boolean }): AckFrame {
  return accepted.duplicate
    ? { type: 'ack', id: accepted.id, runId: accepted.runId, duplicate: true }
    : { type: 'ack', id: accepted.id, runId: accepted.runId };
}
