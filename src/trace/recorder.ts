/**
 * Records one connection actor's trace (opt-in: `record` server option). It sees the actor
 * system through xstate's `inspect` hook and its timers through a wrapping clock, so the
 * machines and the adapter are untouched and a server without `record` pays nothing.
 *
 * Time: every entry gets `at`, integer ms since the connection started, on a timeline the
 * replay's SimulatedClock can follow exactly. A fired delay is stamped with its due time
 * (when it was scheduled + its duration, as the SimulatedClock computes it). Any other entry
 * is stamped with the elapsed time, but never at or past the due time of a timer that has
 * not fired yet (real timers fire a little late; the order they fired in is what counts),
 * and every entry of one synchronous turn gets the same stamp, so timers scheduled while the
 * actor processes it are due at the same time in the replay.
 */
import { performance } from 'node:perf_hooks';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ConnectionContext, ConnectionEvent, ConnectionLimits } from '../../machines/connection.js';
import type { SocketFacts } from '../../machines/connection-bounds.js';
import type { CredentialSource } from '../protocol/credentials.js';
import type { ResumeRequest } from '../protocol/frames.js';
import type { Clock } from '../clock.js';
import { classify } from './classify.js';
import {
  REDACTED,
  TRACE_FORMAT,
  TRACE_VERSION,
  type ConnectionTrace,
  type TraceEffect,
  type ConnectionTraceEntry,
  type TraceFinal,
  type TruncationCause,
  type VerifyResult,
} from './format.js';
import { redactFrame, redactText } from './redact.js';
import type { TraceBudget } from './budget.js';

export const DEFAULT_MAX_TRACE_ENTRIES = 10_000;

/** The numeric facts of a frame event, as recorded (only those present). */
function frameFactsOf(event: Extract<ConnectionEvent, { type: 'socket.frame' }>): SocketFacts {
  const facts: SocketFacts = {};
  for (const key of FRAME_FACTS) {
    const value = event[key];
    if (typeof value === 'number') facts[key] = value;
  }
  return facts;
}
const FRAME_FACTS = ['bytes', 'bufferedBytes', 'earlyBytesTotal', 'userTokens', 'atMs'] as const;

/** Bytes of JSON one trace may hold (entries + effects + remembered tokens): 8 MiB. */
export const DEFAULT_MAX_TRACE_BYTES = 8 * 1024 * 1024;
/**
 * Distinct tokens one connection may show before recording stops: each is scrubbed from every
 * later text, so their number bounds that work (a connection normally has one, plus refreshes).
 */
export const MAX_TRACE_TOKENS = 64;

export interface RecordingOptions {
  connectionId: string;
  /** The upgrade token; recorded only as REDACTED. */
  token: string | undefined;
  credentials: CredentialSource;
  resume: ResumeRequest | undefined;
  limits: ConnectionLimits;
  /** The heartbeat nonce seed (replay needs it to reproduce the ping payloads). */
  pingSeed?: string | undefined;
  /** The server's clock when it has one (tests); otherwise real timers. */
  clock: Clock | undefined;
  maxEntries: number;
  /** Bytes of JSON the trace may hold; beyond it recording stops and the trace is marked truncated. */
  maxBytes: number;
  /** Bytes shared by every trace held in memory at once (the server's `record.maxTotalBytes`). */
  budget?: TraceBudget;
  /**
   * Receives the trace once the actor completed (reached `closed`) or failed, with the bytes it
   * holds of `budget`: the receiver releases them once the trace is written.
   */
  onTrace: (trace: ConnectionTrace, heldBytes: number) => void;
}

export interface ConnectionRecording {
  /** Pass to createActor: the timers the actor system schedules go through it. */
  readonly clock: Clock;
  /** Pass to createActor. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Call once, before `actor.start()`. */
  watch(actor: AnyActorRef): void;
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** Raised inside the recorder when a bound is reached: recording stops, the trace is marked truncated. */
class StopRecording {
  constructor(readonly cause: TruncationCause) {}
}

/** What a replay needs of a resolved identity: the user id and, when present, the expiry facts. */
function identityResult(identity: unknown): VerifyResult {
  const { userId, expiresAt, verifiedAt } = (identity ?? {}) as { userId?: unknown; expiresAt?: unknown; verifiedAt?: unknown };
  return {
    ok: true,
    userId: typeof userId === 'string' ? userId : null,
    // Numbers only (JSON keeps them; NaN/Infinity would become null and replay differently, so
    // those stay absent and the trace is compared as the machine saw it: no expiry fact).
    ...(typeof expiresAt === 'number' && Number.isFinite(expiresAt) ? { expiresAt } : {}),
    ...(typeof verifiedAt === 'number' && Number.isFinite(verifiedAt) ? { verifiedAt } : {}),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function recordConnection(options: RecordingOptions): ConnectionRecording {
  const inner = options.clock ?? realClock;
  const readNow = typeof (inner as { now?: unknown }).now === 'function'
    ? () => (inner as unknown as { now(): number }).now()
    : () => performance.now();
  const origin = readNow();
  const startedAt = new Date().toISOString();
  const tokens = new Set<string>(options.token === undefined ? [] : [options.token]);
  const entries: ConnectionTraceEntry[] = [];
  const effects: TraceEffect[] = [];
  const pending = new Map<number, { handle: unknown; due: number }>();
  let nextTimerId = 0;
  let lastAt = 0;
  let turnAt: number | undefined;
  let truncated = false;
  let truncatedBy: TruncationCause | undefined;
  let bytes = 0;
  let finished = false;
  let root: AnyActorRef | undefined;

  const holdForThisTurn = (at: number): number => {
    if (turnAt === undefined) queueMicrotask(() => (turnAt = undefined));
    turnAt = at;
    return at;
  };

  const currentAt = (): number => {
    if (turnAt !== undefined) return turnAt;
    let at = Math.max(lastAt, Math.floor(readNow() - origin));
    for (const { due } of pending.values()) if (at >= due) at = Math.max(lastAt, due - 1);
    return holdForThisTurn(at);
  };

  const clock: Clock = {
    setTimeout(fn, ms: number) {
      const id = nextTimerId++;
      const due = lastAt + ms;
      const handle = inner.setTimeout(() => {
        pending.delete(id);
        holdForThisTurn(Math.max(lastAt, due));
        fn();
      }, ms);
      pending.set(id, { handle, due });
      return id;
    },
    clearTimeout(id: number) {
      const timer = pending.get(id);
      if (timer === undefined) return;
      pending.delete(id);
      inner.clearTimeout(timer.handle);
    },
  };

  /** Takes `size` bytes of this trace's bound and of the server's budget, or stops recording. */
  const account = (size: number): void => {
    if (bytes + size > options.maxBytes) throw new StopRecording('maxBytes');
    if (options.budget !== undefined && !options.budget.reserve(size)) throw new StopRecording('maxTotalBytes');
    bytes += size;
  };

  /**
   * The JSON copy of `value` the trace keeps, after its size was accounted. Values that JSON
   * cannot hold (cycles, BigInt) or that nest too deep to serialize stop the recording.
   */
  const keep = <T>(value: T, copy: boolean): T => {
    let text: string;
    try {
      text = JSON.stringify(value) ?? 'null';
    } catch {
      throw new StopRecording('unrecordable');
    }
    account(Buffer.byteLength(text) + 1);
    return copy ? (JSON.parse(text) as T) : value;
  };

  const push = (entry: ConnectionTraceEntry): void => {
    if (entries.length >= options.maxEntries) throw new StopRecording('maxEntries');
    // A frame entry holds only strings (already copied by redaction): no second copy.
    const frame = entry.kind === 'event' && entry.event.type === 'socket.frame';
    const kept = keep(entry, !frame);
    lastAt = kept.at;
    entries.push(kept);
  };

  const rememberToken = (token: string): void => {
    if (tokens.has(token)) return;
    if (tokens.size >= MAX_TRACE_TOKENS) throw new StopRecording('tokens');
    account(Buffer.byteLength(token));
    tokens.add(token);
  };

  const redactEvent = (event: ConnectionEvent): ConnectionEvent => {
    switch (event.type) {
      case 'socket.frame': {
        const redacted = redactFrame(event.data, tokens);
        if (redacted.token !== undefined) rememberToken(redacted.token);
        // The facts the machine decided with (version 3): the bucket refills from `atMs`, the
        // bounds read the buffer and byte counts. A path's `counters` never reach a trace
        // (traced connections have no data path).
        return { type: 'socket.frame', data: redacted.data, ...frameFactsOf(event) };
      }
      case 'socket.error':
        return { ...event, message: redactText(event.message, tokens) };
      case 'socket.close':
        return { ...event, reason: redactText(event.reason, tokens) };
      // A verifier's or readiness check's message may quote the token.
      case 'auth.refused':
      case 'refresh.refused':
      case 'backend.unavailable':
        return { ...event, reason: redactText(event.reason, tokens) };
      case 'auth.verified':
      case 'refresh.verified': {
        // What a replay needs of the identity, as the machine reads it (see identityResult).
        const result = identityResult(event) as VerifyResult & { ok: true };
        return {
          type: event.type,
          userId: result.userId as string,
          ...(result.expiresAt === undefined ? {} : { expiresAt: result.expiresAt }),
          ...(result.verifiedAt === undefined ? {} : { verifiedAt: result.verifiedAt }),
        };
      }
      default:
        // Copied (and sized) by push.
        return event;
    }
  };

  const inspect = (inspection: InspectionEvent): void => {
    if (finished || truncated || root === undefined) return;
    // The recorder runs inside the actor's send: whatever goes wrong here must not reach the
    // socket handler (it would crash the process). A bound reached or a value JSON cannot hold
    // ends the recording; the trace keeps its prefix and says why it stopped.
    try {
      record(inspection, root);
    } catch (error) {
      truncated = true;
      truncatedBy = error instanceof StopRecording ? error.cause : 'unrecordable';
    }
  };

  const record = (inspection: InspectionEvent, actor: AnyActorRef): void => {
    const observed = classify(inspection, actor);
    if (observed === undefined) return;
    switch (observed.kind) {
      case 'effect':
        effects.push(keep(observed.effect, true));
        return;
      case 'event':
        push({ at: currentAt(), kind: 'event', event: redactEvent(observed.event) });
        return;
      case 'delay':
        push({ at: currentAt(), ...observed });
        return;
    }
  };

  const finish = (actor: AnyActorRef, error?: unknown): void => {
    if (finished) return;
    finished = true;
    const snapshot = actor.getSnapshot() as { status: TraceFinal['status']; value: unknown; context?: Partial<ConnectionContext> };
    const close = snapshot.context?.close;
    const final: TraceFinal = {
      status: error === undefined ? snapshot.status : 'error',
      state: clone(snapshot.value),
      closeCode: close?.code ?? null,
      closeReason: close?.reason ?? null,
      peerCloseCode: close?.peerCode ?? null,
      ...(error === undefined ? {} : { error: redactText(messageOf(error), tokens) }),
    };
    const trace: ConnectionTrace = {
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      connectionId: options.connectionId,
      startedAt,
      input: {
        token: options.token === undefined ? null : REDACTED,
        credentials: options.credentials,
        resume: options.resume ?? null,
        limits: { ...options.limits },
        ...(options.pingSeed === undefined ? {} : { pingSeed: options.pingSeed }),
      },
      entries,
      effects,
      truncated,
      ...(truncatedBy === undefined ? {} : { truncatedBy }),
      final,
    };
    options.onTrace(trace, bytes);
  };

  return {
    clock,
    inspect,
    watch(actor) {
      root = actor;
      actor.subscribe({ complete: () => finish(actor), error: (error) => finish(actor, error) });
    },
  };
}
