/**
 * Deltas (`text_delta`, `tool_args_delta`) as the log stores them and as a resume hands them
 * over. Live, each delta is one event of its own. In the log, consecutive deltas of one run and
 * kind (the answer's text, or one tool call's arguments) share one entry, a *chunk*, so a
 * streamed answer costs a few entries and about its own bytes instead of thousands of events
 * (retention counts entries and bytes). A resume or a catch-up gets them back *coalesced*: one
 * event that covers the exact seq range `fromSeq..seq` with the concatenation of those deltas
 * (docs/protocol.md "Coalesced deltas"). Pure functions, shared by both logs and the hub.
 */
import type { StreamEvent } from '../protocol/frames.js';
import { deltaKey, type DeltaData } from '../protocol/delta-key.js';

/** Characters of delta text one coalesced event carries at most (a longer stretch is split). */
export const COALESCED_DELTA_MAX_CHARS = 64 * 1024;
/** A stored chunk holds at most DELTA_CHUNK_MAX_DELTAS deltas and at most this many characters (memory log) or UTF-8 bytes (Redis log) of delta text. */
export const DELTA_CHUNK_MAX_BYTES = 16 * 1024;

export { deltaKey, DELTA_CHUNK_MAX_DELTAS, type DeltaData } from '../protocol/delta-key.js';

/** The data of one delta of a chunk whose first delta had `first` as its data (same key order as the run handle's). */
export function deltaData(first: DeltaData, delta: string): DeltaData {
  return first.toolCallId === undefined ? { delta } : { toolCallId: first.toolCallId, delta };
}

/** The first seq an event covers (`fromSeq` of a coalesced delta, else its `seq`). */
export function firstSeqOf(event: Pick<StreamEvent, 'seq' | 'fromSeq'>): number {
  return event.fromSeq ?? event.seq;
}

/**
 * Coalesces consecutive deltas of one run and kind (adjacent seqs, same key) into one event
 * covering `fromSeq..seq` whose `data.delta` is their concatenation, at most
 * `maxChars` characters each (a single longer delta stays alone). Its `ts` is its last delta's.
 * Everything else passes unchanged and in order: the result covers exactly the seqs the input
 * covered, once each, and concatenating its deltas per run gives the same text as the input's.
 */
export function coalesceDeltas(events: readonly StreamEvent[], maxChars = COALESCED_DELTA_MAX_CHARS): StreamEvent[] {
  const out: StreamEvent[] = [];
  let group: { first: StreamEvent; last: StreamEvent; key: string; parts: string[]; chars: number } | undefined;
  const flush = (): void => {
    if (group === undefined) return;
    const { first, last, parts } = group;
    if (parts.length === 1) out.push(first);
    else {
      out.push({
        seq: last.seq,
        fromSeq: firstSeqOf(first),
        runId: first.runId,
        event: first.event,
        data: deltaData(first.data as DeltaData, parts.join('')),
        ts: last.ts,
      });
    }
    group = undefined;
  };
  for (const event of events) {
    const key = deltaKey(event);
    if (key === undefined) {
      flush();
      out.push(event);
      continue;
    }
    const delta = (event.data as DeltaData).delta;
    if (group !== undefined && group.key === key && firstSeqOf(event) === group.last.seq + 1 && group.chars + delta.length <= maxChars) {
      group.parts.push(delta);
      group.chars += delta.length;
      group.last = event;
      continue;
    }
    flush();
    group = { first: event, last: event, key, parts: [delta], chars: delta.length };
  }
  flush();
  return out;
}
