/** Server options, their defaults, and validation with `LOCKSTEP_ERR_INVALID_OPTION`. */
import type { Server as HttpServer } from 'node:http';
import type { ActorOptions, AnyActorLogic, InspectionEvent } from 'xstate';

/** xstate's Clock (not exported by name): what SimulatedClock implements. */
export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../machines/connection.js';
import type { MessageHandler } from '../agent/handler.js';
import { demoAgent } from '../agent/demo-agent.js';
import type { EventLog } from '../delivery/event-log.js';
import { LockstepError } from '../protocol/errors.js';
import { jwtVerifier, verifyDevToken, type VerifyToken } from './auth.js';
import { silentLogger, type Logger } from './logger.js';

export interface TraceEntry {
  kind: 'state' | 'handler';
  connectionId: string;
  /** Top-level connection state: the new state for `state`, the current one for `handler`. */
  state: string;
  runId?: string;
}

export interface LockstepServerOptions {
  /** Attach to an existing http.Server (embedding). Without it, lockstep creates its own. */
  server?: HttpServer;
  host?: string;
  port?: number;
  /** Upgrade paths. Default `['/ws', '/websocket']`. */
  paths?: string[];
  /** The application handler; default: the deterministic demo agent. */
  handler?: MessageHandler;
  /** Token check; default: JWT with `jwtSecret` when set, else dev tokens (token = user id). */
  verifyToken?: VerifyToken;
  /** HS256 secret; default `process.env.LOCKSTEP_JWT_SECRET`. */
  jwtSecret?: string;
  /** Backend readiness, awaited during every handshake; reject or hang → 1013. Default: ready. */
  ready?: () => Promise<void>;
  /** Per-connection timeouts and bounds; see docs/protocol.md. */
  limits?: Partial<ConnectionLimits>;
  /** Largest accepted frame in bytes; bigger frames close with 1009. Default 1 MiB. */
  maxPayload?: number;
  eventLog?: EventLog;
  /** How long `close()` lets in-flight runs finish before closing sockets. Default 10000 ms. */
  drainMs?: number;
  /** Live connections one user may hold; the next one is closed with 1008. Default 16. */
  maxConnectionsPerUser?: number;
  /**
   * Browser origins allowed to open a WebSocket (exact `Origin` values). An upgrade with
   * another Origin is refused with HTTP 403; requests without Origin (non-browser) pass.
   * Default: no check.
   */
  allowedOrigins?: string[];
  logger?: Logger;
  /** Called for every connection state change and every handler start (tests, debugging). */
  onTrace?: (entry: TraceEntry) => void;
  /** Time source for the machines' named delays; tests pass xstate's SimulatedClock. */
  clock?: Clock;
  /**
   * xstate inspection of every connection actor (and its handshake child) and of the server
   * lifecycle actor: full snapshots and the transitions taken. For model-based tests and debugging.
   */
  inspect?: (event: InspectionEvent) => void;
}

export interface ResolvedOptions {
  server: HttpServer | undefined;
  host: string;
  port: number;
  paths: readonly string[];
  handler: MessageHandler;
  verifyToken: VerifyToken;
  devTokens: boolean;
  ready: () => Promise<void>;
  limits: ConnectionLimits;
  maxPayload: number;
  eventLog: EventLog | undefined;
  maxConnectionsPerUser: number;
  drainMs: number;
  allowedOrigins: ReadonlySet<string> | undefined;
  logger: Logger;
  onTrace: ((entry: TraceEntry) => void) | undefined;
  clock: Clock | undefined;
  inspect: ((event: InspectionEvent) => void) | undefined;
}

function invalid(message: string): never {
  throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', message);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) invalid(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function resolveOptions(options: LockstepServerOptions): ResolvedOptions {
  // A key given as undefined means "the default", as everywhere else in the options.
  const given = Object.entries(options.limits ?? {}).filter(([, value]) => value !== undefined);
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...Object.fromEntries(given) };
  for (const name of Object.keys(limits)) {
    if (!(name in DEFAULT_CONNECTION_LIMITS)) invalid(`limits.${name} is not a known limit (${Object.keys(DEFAULT_CONNECTION_LIMITS).join(', ')})`);
  }
  for (const [name, value] of Object.entries(limits)) positiveInteger(`limits.${name}`, value);
  const paths = options.paths ?? ['/ws', '/websocket'];
  for (const path of paths) if (!path.startsWith('/')) invalid(`paths entries must start with "/", got "${path}"`);
  const jwtSecret = options.jwtSecret ?? process.env.LOCKSTEP_JWT_SECRET;
  const devTokens = options.verifyToken === undefined && !jwtSecret;
  return {
    server: options.server,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    paths,
    handler: options.handler ?? demoAgent,
    verifyToken: options.verifyToken ?? (jwtSecret ? jwtVerifier(jwtSecret) : verifyDevToken),
    devTokens,
    ready: options.ready ?? (async () => {}),
    limits,
    maxPayload: positiveInteger('maxPayload', options.maxPayload ?? 1024 * 1024),
    eventLog: options.eventLog,
    drainMs: positiveInteger('drainMs', options.drainMs ?? 10_000),
    maxConnectionsPerUser: positiveInteger('maxConnectionsPerUser', options.maxConnectionsPerUser ?? 16),
    allowedOrigins: options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins),
    logger: options.logger ?? silentLogger,
    onTrace: options.onTrace,
    clock: options.clock,
    inspect: options.inspect,
  };
}
