/**
 * Checks what one connection received against the stream invariants, in the spirit of a
 * Jepsen history checker: it reports every lost, duplicated or reordered event rather than
 * stopping at the first, so a counterexample says everything that went wrong.
 */
import type { StreamEvent } from '../protocol/frames.js';

/** One problem in what a connection received: an event lost, duplicated or reordered. */
export interface HistoryViolation {
  kind: 'lost' | 'duplicated' | 'reordered';
  seq: number;
  /** Index in the received list where it was noticed. */
  at: number;
}

/**
 * I4: the events a connection received carry consecutive `seq` values from `afterSeq + 1`
 * (its starting point), with no duplicates. A coalesced delta covers every seq of its range
 * `fromSeq..seq`: coverage must be gap-free and exactly once, range by range (I4, I5 for
 * ranges). `expectedLastSeq`, when given, is the last seq the connection should have seen:
 * anything missing at the end is reported as lost.
 */
export function checkStreamHistory(
  received: readonly Pick<StreamEvent, 'seq' | 'fromSeq'>[],
  afterSeq = 0,
  expectedLastSeq?: number,
): HistoryViolation[] {
  const violations: HistoryViolation[] = [];
  const seen = new Set<number>();
  let next = afterSeq + 1;
  received.forEach(({ seq: last, fromSeq }, at) => {
    for (let seq = fromSeq ?? last; seq <= last; seq++) {
      if (seen.has(seq) || seq <= afterSeq) {
        violations.push({ kind: 'duplicated', seq, at });
        continue;
      }
      seen.add(seq);
      if (seq < next) violations.push({ kind: 'reordered', seq, at });
      else {
        for (let missing = next; missing < seq; missing++) violations.push({ kind: 'lost', seq: missing, at });
        next = seq + 1;
      }
    }
  });
  // A "lost" seq that showed up later was reordered, not lost.
  const result = violations.filter((v) => v.kind !== 'lost' || !seen.has(v.seq));
  if (expectedLastSeq !== undefined) {
    for (let missing = next; missing <= expectedLastSeq; missing++) {
      result.push({ kind: 'lost', seq: missing, at: received.length });
    }
  }
  return result;
}
