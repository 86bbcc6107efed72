/**
 * The pure rules behind the connection machine's byte bounds, bad-frame count and heartbeat
 * nonce (I8). Each takes facts the adapter reported (bytes buffered on the socket, bytes held
 * server-wide, the user's shared tokens) and the machine's limits; the machine's guards and
 * actions call them, so every decision stays in the machine and is unit-tested here.
 */

import { DELTA_CHUNK_MAX_DELTAS, deltaKey } from '../src/protocol/delta-key.js';
import type { StreamEvent } from '../src/protocol/frames.js';

/** The facts the adapter attaches to a socket event: what the socket and the server hold now. */
export interface SocketFacts {
  /** The socket's send buffer (ws `bufferedAmount`: kernel-pending + corked batch + ws queue), in bytes. */
  bufferedBytes?: number;
  /** Wire size of the frame, in bytes (UTF-8); absent: its string length. */
  bytes?: number;
  /** Bytes of early frames held by every connection of this server right now. */
  earlyBytesTotal?: number;
  /** Tokens left in the user's bucket shared by all its tabs (after refill); absent: no user bucket. */
  userTokens?: number;
  /** The server's clock when the frame arrived (ms, monotonic): the connection's bucket refills from it (frame-counters.ts). */
  atMs?: number;
}

/**
 * True when the socket already holds `maxOutgoingBytes` or more unsent: the peer does not read.
 * Checked before anything is written for a frame, an ack or an event (every kind). An absent
 * fact (a frame the machine raised itself) is never over the bound.
 */
export function outgoingOverLimit(facts: SocketFacts, maxOutgoingBytes: number): boolean {
  return facts.bufferedBytes !== undefined && facts.bufferedBytes >= maxOutgoingBytes;
}

/** Bytes an early frame costs while held: its wire size; a binary frame is held as null (0 bytes). */
export function heldFrameBytes(data: string | null, facts: SocketFacts): number {
  return data === null ? 0 : (facts.bytes ?? data.length);
}

/** Why holding one more early frame is refused, or undefined when it may be held. */
export type EarlyRefusal = 'connection' | 'server';

/**
 * Early-frame bounds: at most `maxEarlyFrames` frames and `maxEarlyBytes` bytes per connection
 * ('connection' → 1008), and at most `maxEarlyBytesTotal` held by the whole server ('server' →
 * 1013, try again later: the budget is shared, not this client's fault alone).
 */
export function earlyRefusal(
  held: { frames: number; bytes: number },
  frameBytes: number,
  facts: SocketFacts,
  limits: { maxEarlyFrames: number; maxEarlyBytes: number; maxEarlyBytesTotal: number },
): EarlyRefusal | undefined {
  if (held.frames >= limits.maxEarlyFrames || held.bytes + frameBytes > limits.maxEarlyBytes) return 'connection';
  if (facts.earlyBytesTotal !== undefined && facts.earlyBytesTotal + frameBytes > limits.maxEarlyBytesTotal) return 'server';
  return undefined;
}

/**
 * The bad-frame count after one frame: a refused frame adds 1, a valid one takes 1 off (never
 * below 0). Not a reset: a client whose refused frames outnumber its valid ones by
 * `maxBadFrames` is closed, whatever the mix (19 bad + 1 ping, repeated, reaches 20 after 2 rounds).
 */
export function nextBadFrameCount(count: number, refused: boolean): number {
  return refused ? count + 1 : Math.max(0, count - 1);
}

/**
 * The payload of the heartbeat ping number `n`: an unguessable per-connection seed (chosen by
 * the adapter at the upgrade, never sent before the first ping) and the ping's number. Only a
 * pong that carries it answers the ping: unsolicited pongs never keep a connection alive.
 */
export function heartbeatNonce(seed: string, n: number): string {
  return `${seed}.${n}`;
}

/**
 * How far a congested connection is behind, in the entries its catch-up will read (I8,
 * `maxLagEvents`): an event counts one, except a delta that continues the previous one's run
 * and kind, which the log stores in the same chunk (up to DELTA_CHUNK_MAX_DELTAS of them) and a
 * catch-up hands over coalesced. So a tab congested during a long streamed answer is not cut off
 * after 500 deltas; it is after 500 entries. Seqs never seen one by one (a gap) count one entry
 * each: the count never underestimates.
 */
export interface StreamLag {
  entries: number;
  /** The delta key of the last event counted (undefined: not a delta). */
  key: string | undefined;
  /** Deltas of that key counted in the current entry. */
  deltas: number;
  /** The last seq counted (or written, when the count starts). */
  seq: number;
}
export const NO_LAG: StreamLag = Object.freeze({ entries: 0, key: undefined, deltas: 0, seq: 0 });

/** A lag count that starts after `lastSeq`, the last event written. */
export function lagFrom(lastSeq: number): StreamLag {
  return { entries: 0, key: undefined, deltas: 0, seq: lastSeq };
}

/** The lag after one more event the connection did not write. */
export function lagAfter(lag: StreamLag, event: StreamEvent): StreamLag {
  const key = deltaKey(event);
  const unseen = Math.max(0, event.seq - lag.seq - 1);
  if (unseen === 0 && key !== undefined && key === lag.key && lag.deltas < DELTA_CHUNK_MAX_DELTAS) {
    return { entries: lag.entries, key, deltas: lag.deltas + 1, seq: event.seq };
  }
  return { entries: lag.entries + unseen + 1, key, deltas: 1, seq: Math.max(lag.seq, event.seq) };
}
