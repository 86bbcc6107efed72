/**
 * The operator's log: one line per connection lifecycle transition worth attention (ready,
 * resume outcome, slow consumer, refused, closed), each with `connectionId`, `userId` and a
 * duration. The server layer calls it where those outcomes are decided; the machines never
 * log. Tokens are never passed here: only ids, codes, fixed reasons and durations.
 */
import { CloseCode } from '../protocol/close-codes.js';
import type { ResumeFailure, ResumeRequest } from '../protocol/frames.js';
import { silentLogger, type Logger } from './logger.js';

/** What the log needs to know about a connection; read from the actor's context. */
export interface ConnectionFacts {
  connectionId: string;
  userId: string | undefined;
}

/** Closes that are part of normal life: the client left, or the server is shutting down. */
const ORDINARY_CLOSES: ReadonlySet<number> = new Set([CloseCode.NORMAL, CloseCode.GOING_AWAY, 1005, 1006]);

const roundMs = (ms: number): number => Math.round(ms * 10) / 10;

export class LifecycleLog {
  readonly #logger: Logger;

  /** True for the default silent logger: callers on a connection's path skip building lines nobody reads. */
  readonly silent: boolean;

  constructor(logger: Logger) {
    this.#logger = logger;
    this.silent = logger === silentLogger;
  }

  /**
   * An upgrade refused before any WebSocket exists: origin (403), path (404), shutdown or the
   * global cap (503), the per-address cap (429). `reason` is given for the caps.
   */
  upgradeRefused(status: 403 | 404 | 429 | 503, path: string, origin: string | undefined, remoteAddress: string | undefined, reason?: string): void {
    this.#logger.warn({ status, path, origin, remoteAddress, ...(reason === undefined ? {} : { reason }) }, 'upgrade refused');
  }

  /** `handleConnection` during `close()`: the socket was already upgraded, so it closes 1001. */
  refusedWhileShuttingDown(path: string, remoteAddress: string | undefined): void {
    this.#logger.warn({ code: CloseCode.GOING_AWAY, path, remoteAddress }, 'connection refused: shutting down');
  }

  ready(facts: ConnectionFacts, handshakeMs: number, heldFrames: number): void {
    this.#logger.info(Object.assign({}, facts, { handshakeMs: roundMs(handshakeMs), heldFrames }), 'connection ready');
  }

  /** Only for connections that asked to resume (`?epoch&lastSeq`). */
  resume(
    facts: ConnectionFacts,
    requested: ResumeRequest,
    outcome: { resumed: boolean; lastSeq: number; reason: ResumeFailure | undefined },
  ): void {
    if (outcome.resumed) {
      this.#logger.info(
        Object.assign({}, facts, { fromSeq: requested.lastSeq, toSeq: outcome.lastSeq, replayed: outcome.lastSeq - requested.lastSeq }),
        'resume replayed missed events',
      );
    } else {
      this.#logger.warn(
        Object.assign({}, facts, { reason: outcome.reason, requestedSeq: requested.lastSeq, lastSeq: outcome.lastSeq }),
        'resume impossible; client told resumed:false',
      );
    }
  }

  congested(facts: ConnectionFacts): void {
    this.#logger.warn(facts, 'slow consumer: connection congested, events held in the log');
  }

  caughtUp(facts: ConnectionFacts, congestedMs: number): void {
    this.#logger.info(Object.assign({}, facts, { congestedMs: roundMs(congestedMs) }), 'slow consumer caught up');
  }

  /**
   * The actor reached `closed`. A connection that never reached `ready` and was closed by the
   * server was refused (4401, 4408, 1013, 1008, 1001); otherwise its lifetime is reported.
   */
  closed(
    facts: ConnectionFacts,
    close: { code: number; reason: string | undefined; byServer: boolean },
    timing: { lifetimeMs: number; wasReady: boolean },
  ): void {
    const fields = Object.assign({}, facts, { code: close.code, reason: close.reason, lifetimeMs: roundMs(timing.lifetimeMs) });
    if (close.code === CloseCode.INTERNAL_FAULT) {
      this.#logger.error(fields, 'connection closed by an internal fault');
    } else if (!timing.wasReady && close.byServer) {
      this.#logger.warn(fields, 'connection refused');
    } else if (ORDINARY_CLOSES.has(close.code)) {
      this.#logger.info(fields, 'connection closed');
    } else {
      this.#logger.warn(fields, 'connection closed');
    }
  }

  /** A fault in the connection actor (an action threw): that connection closes 1011. */
  fault(facts: ConnectionFacts, error: unknown): void {
    this.#logger.error(Object.assign({}, facts, { err: error instanceof Error ? error.message : String(error) }), 'connection actor fault');
  }
}
