/**
 * The connection trace file: what a recorded connection received, in order, with the time
 * each entry happened (ms since the connection started, on one consistent virtual
 * timeline), and what it did (effects) and where it ended. `replayTrace` re-runs it against
 * the pure machines. Bump TRACE_VERSION when the shape changes, and keep reading the older
 * versions (READABLE_TRACE_VERSIONS): version 2 added `refresh` entries and the token expiry of
 * `verify` results; a version 1 trace has neither and replays as before. Version 3: frames
 * carry the facts they arrived with (`atMs`, `bufferedBytes`, `bytes`, `userTokens`,
 * `earlyBytesTotal`) and the connection's message bucket refills from `atMs` instead of a
 * `rateRefill` timer; an older trace's frames replay at their entry's time (`atMs` = `at`)
 * and its `rateRefill` delays, which no longer exist, are left out. Version 4: the handshake is
 * states of the connection machine, so its outcomes are events the connection received
 * (`auth.verified`, `auth.refused`, `backend.ready`, `backend.unavailable`) and its delays the
 * connection's (`xstate.after.authTimeout.connection.handshaking.authenticating`); an older
 * trace's `verify` and `backend` entries are read as those events and its handshake delays
 * under their new names (asVersion4). Version 5: a token refresh is asked by an effect too
 * (`verifyRefresh`), so its outcome is an event (`refresh.verified`, `refresh.refused`); an older
 * trace's `refresh` entries are read as those events (asVersion5).
 */
import { DEFAULT_CONNECTION_LIMITS, type ConnectionEvent, type ConnectionLimits } from '../../machines/connection.js';
import type { CredentialSource } from '../protocol/credentials.js';
import type { ResumeRequest } from '../protocol/frames.js';
import { LockstepError } from '../protocol/errors.js';

export const TRACE_FORMAT = 'lockstep.trace';
export const TRACE_VERSION = 5;
/** Every version `parseTrace` reads (a trace of an older lockstep still replays). */
export const READABLE_TRACE_VERSIONS: readonly number[] = [1, 2, 3, 4, 5];
/** What a token is replaced with, everywhere a trace would otherwise hold one. */
export const REDACTED = '[redacted]';

/**
 * A verifier's outcome: only what the machine uses of it (a refresh's; before version 4 also the handshake's).
 * `userId: null`: the verifier resolved without a string user id (the handshake then rejects).
 * `expiresAt`/`verifiedAt` (ms epoch, version 2): the token's expiry and when it was checked,
 * present when the identity had them (the connection's expiry delay follows from them).
 */
export type VerifyResult =
  | { ok: true; userId: string | null; expiresAt?: number; verifiedAt?: number }
  | { ok: false; error: string };
/** How the backend readiness check ended in a recorded connection. */
export type BackendResult = { ok: true } | { ok: false; error: string };

/** One entry of a recorded trace: an event the connection actor received, a delay that fired, a handshake result, or an effect. */
export type ConnectionTraceEntry =
  /** An event sent to the connection actor from outside: socket, stream, ack, shutdown. */
  | { at: number; kind: 'event'; event: ConnectionEvent }
  /** Versions 1–3: the handshake's verifyToken actor settled (parseTrace reads it as `auth.verified` / `auth.refused`). */
  | { at: number; kind: 'verify'; result: VerifyResult }
  /** Versions 1–3: the backend readiness actor settled (parseTrace reads it as `backend.ready` / `backend.unavailable`). */
  | { at: number; kind: 'backend'; result: BackendResult }
  /**
   * The verifyRefresh actor of a token refresh (an `auth` frame after ready) settled (versions 2–4;
   * parseTrace reads it as `refresh.verified` / `refresh.refused`):
   * the identity it resolved with (accepted, or refused by the machine: another subject, out of
   * bounds, already expired) or its error.
   */
  | { at: number; kind: 'refresh'; result: VerifyResult }
  /** A named delay fired (`actor` is the machine that owns it; `handshake` only before version 4, read as `connection`). */
  | { at: number; kind: 'delay'; actor: 'connection' | 'handshake'; delay: string; event: string };

/** A named effect the connection machine executed, with its parameters. */
export interface TraceEffect { type: string; params?: unknown }

/** How a recorded connection ended: its final state, close codes and the frames sent. */
export interface TraceFinal {
  /** `done` once the connection reached `closed`; `error` when an action threw (1011). */
  status: 'done' | 'error' | 'active';
  state: unknown;
  closeCode: number | null;
  closeReason: string | null;
  peerCloseCode: number | null;
  error?: string;
}

/**
 * Why recording stopped early: `maxEntries` / `maxBytes` (this trace's bounds), `maxTotalBytes`
 * (every trace held in memory at once), `tokens` (more distinct tokens than the recorder scrubs,
 * MAX_TRACE_TOKENS), `unrecordable` (a value JSON cannot hold, e.g. a cycle).
 */
export type TruncationCause = 'maxEntries' | 'maxBytes' | 'maxTotalBytes' | 'tokens' | 'unrecordable';

/** A recorded connection (format `lockstep.trace`, version 4; versions 1–3 are read too): input, entries in order, and how it ended. Tokens are redacted. */
export interface ConnectionTrace {
  format: typeof TRACE_FORMAT;
  version: number;
  connectionId: string;
  /** Wall-clock start, for humans; replay uses only `at` offsets. */
  startedAt: string;
  input: {
    /** REDACTED when the upgrade carried a token (header or subprotocol), else null. */
    token: string | null;
    credentials: CredentialSource;
    resume: ResumeRequest | null;
    limits: ConnectionLimits;
    /** The heartbeat nonce seed the connection used (absent in traces recorded before it existed). */
    pingSeed?: string;
  };
  entries: ConnectionTraceEntry[];
  effects: TraceEffect[];
  /** True when recording stopped at a bound (`truncatedBy` says which): replay checks the recorded prefix only. */
  truncated: boolean;
  /** Why a truncated trace stopped; absent when it is complete (and in traces written before it existed). */
  truncatedBy?: TruncationCause;
  final: TraceFinal;
}

const ENTRY_KINDS = new Set(['event', 'verify', 'backend', 'delay', 'refresh']);

/** Limits added after trace version 1 was defined (issue 14's byte bounds). */
const LIMITS_ADDED_LATER = new Set(['maxOutgoingBytes', 'maxEarlyBytes', 'maxEarlyBytesTotal', 'userMessageRate', 'userMessageBurst', 'joinTimeoutMs']);

function invalid(message: string): never {
  throw new LockstepError('LOCKSTEP_ERR_INVALID_TRACE', `invalid trace: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape a replay relies on; throws LOCKSTEP_ERR_INVALID_TRACE naming the fault. */
export function parseTrace(value: unknown): ConnectionTrace {
  if (!isRecord(value)) invalid('expected a JSON object');
  if (value.format !== TRACE_FORMAT) invalid(`"format" must be "${TRACE_FORMAT}", got ${JSON.stringify(value.format)}`);
  if (typeof value.version !== 'number' || !READABLE_TRACE_VERSIONS.includes(value.version)) {
    invalid(`"version" ${JSON.stringify(value.version)} is not supported (this lockstep reads versions ${READABLE_TRACE_VERSIONS.join(', ')})`);
  }
  if (typeof value.connectionId !== 'string') invalid('"connectionId" must be a string');
  const input = value.input;
  if (!isRecord(input) || !isRecord(input.limits)) invalid('"input.limits" is missing');
  for (const name of Object.keys(DEFAULT_CONNECTION_LIMITS)) {
    // Traces recorded before a limit existed ran without it: replay them with its default.
    if (LIMITS_ADDED_LATER.has(name) && input.limits[name] === undefined) {
      input.limits[name] = DEFAULT_CONNECTION_LIMITS[name as keyof typeof DEFAULT_CONNECTION_LIMITS];
    }
    const limit = input.limits[name];
    if (typeof limit !== 'number' || !(limit > 0)) invalid(`"input.limits.${name}" must be a positive number, got ${JSON.stringify(limit)}`);
  }
  if (!Array.isArray(value.entries)) invalid('"entries" must be an array');
  if (!Array.isArray(value.effects)) invalid('"effects" must be an array');
  if (!isRecord(value.final)) invalid('"final" is missing');
  let previous = 0;
  value.entries.forEach((entry: unknown, index: number) => {
    if (!isRecord(entry) || typeof entry.kind !== 'string' || !ENTRY_KINDS.has(entry.kind)) {
      invalid(`entries[${index}] must have a kind of ${[...ENTRY_KINDS].join(', ')}`);
    }
    if (typeof entry.at !== 'number' || !Number.isFinite(entry.at) || entry.at < previous) {
      invalid(`entries[${index}].at must be a number ≥ the previous entry's (${previous})`);
    }
    previous = entry.at;
    if (entry.kind === 'event' && (!isRecord(entry.event) || typeof entry.event.type !== 'string')) {
      invalid(`entries[${index}].event must be an object with a string "type"`);
    }
    if (entry.kind === 'refresh' && value.version === 1) invalid(`entries[${index}]: "refresh" entries need trace version 2`);
    if ((entry.kind === 'verify' || entry.kind === 'backend') && (value.version as number) >= 4) {
      invalid(`entries[${index}]: "${entry.kind}" entries exist up to trace version 3 (version 4 records the handshake's answers as events)`);
    }
    if ((entry.kind === 'verify' || entry.kind === 'backend' || entry.kind === 'refresh') && (!isRecord(entry.result) || typeof entry.result.ok !== 'boolean')) {
      invalid(`entries[${index}].result must be an object with a boolean "ok"`);
    }
    if (entry.kind === 'delay' && typeof entry.event !== 'string') invalid(`entries[${index}].event must be a string`);
  });
  if (value.version < 3) value.entries = value.entries.flatMap(asVersion3);
  if (value.version < 4) value.entries = (value.entries as Array<Record<string, unknown>>).map(asVersion4);
  if (value.version < 5) value.entries = (value.entries as Array<Record<string, unknown>>).map(asVersion5);
  return value as unknown as ConnectionTrace;
}

/** An entry of a version 1–4 trace as version 5 reads it: a refresh's outcome is an event. */
function asVersion5(entry: Record<string, unknown>): Record<string, unknown> {
  const result = entry.result as Record<string, unknown> | undefined;
  if (entry.kind !== 'refresh' || result === undefined) return entry;
  if (result.ok !== true) return { at: entry.at, kind: 'event', event: { type: 'refresh.refused', reason: String(result.error ?? '') } };
  const event: Record<string, unknown> = { type: 'refresh.verified', userId: result.userId ?? null };
  if (result.expiresAt !== undefined) event.expiresAt = result.expiresAt;
  if (result.verifiedAt !== undefined) event.verifiedAt = result.verifiedAt;
  return { at: entry.at, kind: 'event', event };
}

/** `xstate.after.<delay>.handshake.<state>` (the old child's) → `xstate.after.<delay>.connection.handshaking.<state>`. */
const HANDSHAKE_DELAY = /^(xstate\.after\.[^.]+\.)handshake(?=\.|$)/;

/** An entry of a version 1–3 trace as version 4 reads it: the handshake's outcomes are events, its delays the connection's. */
function asVersion4(entry: Record<string, unknown>): Record<string, unknown> {
  const result = entry.result as Record<string, unknown> | undefined;
  const at = entry.at;
  if (entry.kind === 'verify' && result !== undefined) {
    if (result.ok !== true) return { at, kind: 'event', event: { type: 'auth.refused', reason: String(result.error ?? '') } };
    const event: Record<string, unknown> = { type: 'auth.verified', userId: result.userId ?? null };
    if (result.expiresAt !== undefined) event.expiresAt = result.expiresAt;
    if (result.verifiedAt !== undefined) event.verifiedAt = result.verifiedAt;
    return { at, kind: 'event', event };
  }
  if (entry.kind === 'backend' && result !== undefined) {
    return { at, kind: 'event', event: result.ok === true ? { type: 'backend.ready' } : { type: 'backend.unavailable', reason: String(result.error ?? '') } };
  }
  if (entry.kind === 'delay' && entry.actor === 'handshake') {
    return { ...entry, actor: 'connection', event: String(entry.event).replace(HANDSHAKE_DELAY, '$1connection.handshaking') };
  }
  return entry;
}

/** An entry of a version 1 or 2 trace as version 3 reads it (see the file comment). */
function asVersion3(entry: Record<string, unknown>): Array<Record<string, unknown>> {
  if (entry.kind === 'delay' && entry.delay === 'rateRefill') return [];
  const event = entry.event;
  if (entry.kind === 'event' && isRecord(event) && event.type === 'socket.frame' && event.atMs === undefined) {
    return [{ ...entry, event: { ...event, atMs: entry.at } }];
  }
  return [entry];
}
