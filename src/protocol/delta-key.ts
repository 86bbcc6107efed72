/**
 * Which events are deltas that coalesce, by the protocol's definition: shared by the logs (which
 * store consecutive deltas of one run and kind as one chunk), the hub (which hands them over
 * coalesced) and the connection machine (which counts a congested tab's lag in the entries a
 * catch-up will read, not in deltas). Pure; no I/O.
 */
import type { StreamEvent } from './frames.js';

/** A stored chunk holds at most this many deltas… */
export const DELTA_CHUNK_MAX_DELTAS = 1024;

/** What a delta event's data must be, exactly, to be coalesced: `{ delta }` or `{ toolCallId, delta }`. */
export interface DeltaData { toolCallId?: string; delta: string }

/**
 * The key under which consecutive deltas coalesce (run, kind and tool call), or undefined when
 * the event is not a delta of the exact shape the run handle emits (then it stays an event of
 * its own: nothing else may be lost by concatenating).
 */
export function deltaKey(event: Pick<StreamEvent, 'runId' | 'event' | 'data'>): string | undefined {
  const data = event.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null || typeof data.delta !== 'string') return undefined;
  const keys = Object.keys(data);
  if (event.event === 'text_delta') {
    return keys.length === 1 ? `${event.runId}\ntext` : undefined;
  }
  if (event.event === 'tool_args_delta') {
    return keys.length === 2 && keys[0] === 'toolCallId' && typeof data.toolCallId === 'string'
      ? `${event.runId}\nargs\n${data.toolCallId}`
      : undefined;
  }
  return undefined;
}
