/** Server options, their defaults, and validation with `LOCKSTEP_ERR_INVALID_OPTION`. */
import type { Server as HttpServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { ActorOptions, AnyActorLogic } from 'xstate';

import type { Clock } from '../clock.js';
import { DEFAULT_RUN_DEADLINES, type RunDeadlineLimits } from '../../machines/run-deadlines.js';
export type { Clock } from '../clock.js';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../machines/connection.js';
import type { MessageHandler } from '../agent/handler.js';
import { demoAgent } from '../agent/demo-agent.js';
import type { EventLog } from '../delivery/event-log.js';
import type { ScaleOut } from '../delivery/scale-out.js';
import { LockstepError } from '../protocol/errors.js';
import { jwtVerifier, verifyDevToken, type VerifyToken } from './auth.js';
import { jwtOptionsVerifier, type JwtOptions } from './jwt.js';
import { silentLogger, type Logger } from './logger.js';
import type { ConnectionTrace } from '../trace/format.js';
import { DEFAULT_MAX_TRACE_BYTES, DEFAULT_MAX_TRACE_ENTRIES } from '../trace/recorder.js';
import { DEFAULT_MAX_TOTAL_TRACE_BYTES } from '../trace/budget.js';
import { DEFAULT_CLOSE_GRACE_MS } from '../../machines/server-lifecycle.js';

/**
 * Opt-in recording of each connection's event trace (docs/record-replay.md): write
 * `<dir>/<connectionId>.json` when the connection closes, or hand the trace to a callback.
 */
export type RecordOption =
  | {
      dir: string;
      /** Entries per trace, default 10 000. */
      maxEntries?: number;
      /** Bytes of JSON per trace (entries, effects, tokens), default 8 MiB. */
      maxBytes?: number;
      /** Bytes of every trace held in memory at once (live connections + traces being written), default 64 MiB. */
      maxTotalBytes?: number;
    }
  | ((trace: ConnectionTrace) => void);

export interface ResolvedRecord {
  target: { dir: string } | ((trace: ConnectionTrace) => void);
  /** Entries kept per connection; beyond it the trace is marked truncated (bounded memory, I8). */
  maxEntries: number;
  /** Bytes per trace; beyond it the trace is marked truncated (`truncatedBy: 'maxBytes'`). */
  maxBytes: number;
  /** Bytes of all traces in memory at once; beyond it new growth stops (`truncatedBy: 'maxTotalBytes'`). */
  maxTotalBytes: number;
}

/** One entry of `onTrace`: a connection's state change, or a handler start. */
export interface TraceEntry {
  kind: 'state' | 'handler';
  connectionId: string;
  /** Top-level connection state: the new state for `state`, the current one for `handler`. */
  state: string;
  runId?: string;
}

/** Options of {@link createLockstepServer}; every one is optional. */
export interface LockstepServerOptions {
  /** Attach to an existing http.Server (embedding). Without it, lockstep creates its own. */
  server?: HttpServer;
  /** Standalone: the address `listen()` binds. Default `127.0.0.1`. */
  host?: string;
  /** Standalone: the port `listen()` binds (0 = ephemeral). Default 8080. */
  port?: number;
  /** Upgrade paths. Default `['/ws', '/websocket']`. */
  paths?: string[];
  /** The application handler; default: the deterministic demo agent. */
  handler?: MessageHandler;
  /**
   * Token check: `(token) => Promise<{ userId }>`, reject to close with 4401. One of
   * `verifyToken`, `jwtSecret` (or `LOCKSTEP_JWT_SECRET`) and `auth: 'dev'` is required:
   * without any, `createLockstepServer` throws `LOCKSTEP_ERR_AUTH_REQUIRED` (fail closed).
   */
  verifyToken?: VerifyToken;
  /**
   * JWT verification: `{ secret }` (HS256/384/512), `{ publicKey }` (PEM SPKI or X.509: RS*,
   * PS*, ES*, EdDSA) or `{ jwksUrl }`, with optional `algorithms`, `issuer`, `audience`,
   * `clockToleranceSec`. `sub` is the user id; `exp` is required and enforced for the
   * connection's lifetime (4401 `token expired` unless refreshed). See docs/protocol.md "Tokens".
   */
  jwt?: JwtOptions;
  /** HS256 secret (non-empty), shorthand for `jwt: { secret }`; default `process.env.LOCKSTEP_JWT_SECRET` when `verifyToken` and `auth` are not given. */
  jwtSecret?: string;
  /**
   * `'dev'`: dev tokens — the token is taken as the user id, so anyone can be anyone. Off
   * unless named here; for local development and tests only, never on a reachable server.
   */
  auth?: 'dev';
  /** Backend readiness, awaited during every handshake; reject or hang → 1013. Default: ready. */
  ready?: () => Promise<void>;
  /** Per-connection timeouts and bounds; see docs/protocol.md. */
  limits?: Partial<ConnectionLimits>;
  /** Largest accepted frame in bytes; bigger frames close with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Where events are numbered and retained; share one between servers to resume across them. Default: a {@link MemoryEventLog}. */
  eventLog?: EventLog;
  /** Several nodes sharing users through a backend (see `createRedisScaleOut`); replaces `eventLog`. */
  scaleOut?: ScaleOut;
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
  /** A pino (or pino-compatible) logger for lifecycle lines; default silent. Tokens are never logged. */
  logger?: Logger;
  /** Called for every connection state change and every handler start (tests, debugging). */
  onTrace?: (entry: TraceEntry) => void;
  /** Time source for the machines' named delays; tests pass xstate's SimulatedClock. */
  clock?: Clock;
  /** Serve the demo chat page at `GET /` (`lockstep serve` turns it on). Default false. */
  demoPage?: boolean;
  /**
   * xstate inspection observer given to every connection actor (its handshake included: the
   * `handshaking` states) — e.g. `@statelyai/inspect`'s `inspector.inspect`
   * (`lockstep serve --inspect`). Default: none, so inspection costs nothing.
   */
  inspect?: Inspect;
  /** Record every connection's event trace for `lockstep replay`; off by default. */
  record?: RecordOption;
  /**
   * After the drain, how long `close()` waits for sockets to close (1001) before destroying
   * what is left (peers that never answer, half-sent HTTP requests): `close()` ends within
   * `drainMs + closeGraceMs`. Default 5000 ms.
   */
  closeGraceMs?: number;
  /** Live WebSocket upgrades the server holds in total; the next gets HTTP 503. Default 10000. */
  maxConnections?: number;
  /** Live WebSocket upgrades from one remote address; the next gets HTTP 429. Default 256. */
  maxConnectionsPerAddress?: number;
  /**
   * Behind one trusted reverse proxy: take the remote address from the last entry of
   * `X-Forwarded-For` (the address the proxy saw) for `maxConnectionsPerAddress` and logs.
   * Off by default: the header is client-controlled unless a proxy you run sets it.
   */
  trustProxy?: boolean;
  /**
   * How long a run may take from its start to its end, in ms; past it the run ends with
   * `agent_error` `{ reason: "timeout", deadline: "run" }` and its handler's `signal` aborts.
   * Default 600000 (10 minutes).
   */
  runTimeoutMs?: number;
  /**
   * How long a run may go without emitting an event, in ms, while no approval is pending; past it
   * the run ends with `agent_error` `{ reason: "timeout", deadline: "idle" }`. Default 120000.
   */
  runIdleTimeoutMs?: number;
  /**
   * How long `run.requestApproval` waits for the user's answer, in ms; past it the approval is
   * resolved `approved: false` with `reason: "timeout"` and the run goes on. Default 300000.
   */
  approvalTimeoutMs?: number;
}

/**
 * Every top-level option key, ONE list: `createLockstepServer` refuses any other key (a typo
 * like `handlr` must not fall back to a default silently). The Record type makes the compiler
 * fail when an option is added to the interface and not here. `jwt` is validated by its own
 * resolver (auth).
 */
const KNOWN_OPTIONS: Record<keyof LockstepServerOptions | 'jwt', true> = {
  server: true,
  host: true,
  port: true,
  paths: true,
  handler: true,
  verifyToken: true,
  jwtSecret: true,
  jwt: true,
  auth: true,
  ready: true,
  limits: true,
  maxPayload: true,
  eventLog: true,
  scaleOut: true,
  drainMs: true,
  maxConnectionsPerUser: true,
  allowedOrigins: true,
  logger: true,
  onTrace: true,
  clock: true,
  demoPage: true,
  inspect: true,
  record: true,
  closeGraceMs: true,
  maxConnections: true,
  maxConnectionsPerAddress: true,
  trustProxy: true,
  runTimeoutMs: true,
  runIdleTimeoutMs: true,
  approvalTimeoutMs: true,
};
export const SERVER_OPTION_KEYS: readonly string[] = Object.keys(KNOWN_OPTIONS);

/** xstate's inspection option (an observer of InspectionEvent, or a callback). */
export type Inspect = NonNullable<ActorOptions<AnyActorLogic>['inspect']>;

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
  scaleOut: ScaleOut | undefined;
  maxConnectionsPerUser: number;
  drainMs: number;
  allowedOrigins: ReadonlySet<string> | undefined;
  logger: Logger;
  onTrace: ((entry: TraceEntry) => void) | undefined;
  clock: Clock | undefined;
  demoPage: boolean;
  inspect: Inspect | undefined;
  record: ResolvedRecord | undefined;
  closeGraceMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  trustProxy: boolean;
  runDeadlines: RunDeadlineLimits;
}

function invalid(message: string): never {
  throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', message);
}

/**
 * Exactly one way to check tokens, named by the embedder: a server that would accept any
 * token as the user id is never the silent default (secure by default).
 */
function resolveAuth(options: LockstepServerOptions): { verifyToken: VerifyToken; devTokens: boolean } {
  if (options.auth !== undefined && options.auth !== 'dev') {
    invalid(`auth must be 'dev' (dev tokens) or absent, got ${JSON.stringify(options.auth)}`);
  }
  if (options.jwtSecret !== undefined && (typeof options.jwtSecret !== 'string' || options.jwtSecret.length === 0)) {
    invalid('jwtSecret must be a non-empty string; an empty secret would verify nothing');
  }
  const named = [
    options.verifyToken !== undefined && 'verifyToken',
    options.jwtSecret !== undefined && 'jwtSecret',
    options.jwt !== undefined && 'jwt',
    options.auth !== undefined && "auth: 'dev'",
  ].filter((name): name is string => name !== false);
  if (named.length > 1) invalid(`give one way to check tokens, got ${named.join(' and ')}`);
  if (options.verifyToken !== undefined) {
    if (typeof options.verifyToken !== 'function') invalid(`verifyToken must be a function, got ${typeof options.verifyToken}`);
    return { verifyToken: options.verifyToken, devTokens: false };
  }
  if (options.auth === 'dev') return { verifyToken: verifyDevToken, devTokens: true };
  if (options.jwt !== undefined) return { verifyToken: jwtOptionsVerifier(options.jwt), devTokens: false };
  const secret = options.jwtSecret ?? process.env.LOCKSTEP_JWT_SECRET;
  if (secret) return { verifyToken: jwtVerifier(secret), devTokens: false };
  throw new LockstepError(
    'LOCKSTEP_ERR_AUTH_REQUIRED',
    "no way to check tokens: pass verifyToken, jwt, jwtSecret (or set LOCKSTEP_JWT_SECRET), or auth: 'dev' to take every token as its user id (development only)",
  );
}

/** What was given, for error messages: `"abc" (string)`, `[object] (object)`, `undefined`. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (string)`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${String(value)} (${typeof value})`;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    invalid(`${name} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** The longest delay a timer can wait (2^31 − 1 ms, about 24.8 days): longer ones would fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

function timerDelay(name: string, value: unknown): number {
  const ms = positiveInteger(name, value);
  if (ms > MAX_TIMER_DELAY_MS) invalid(`${name} must be at most ${MAX_TIMER_DELAY_MS} ms (about 24.8 days), got ${ms}`);
  return ms;
}

function expect<T>(name: string, value: unknown, ok: (value: unknown) => boolean, expected: string): T {
  if (!ok(value)) invalid(`${name} must be ${expected}, got ${describeValue(value)}`);
  return value as T;
}

const isFunction = (value: unknown): boolean => typeof value === 'function';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const hasMethods = (...names: string[]) => (value: unknown): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === 'function');

/** Checks every given option's type; an undefined value means "the default". */
function checkTypes(options: LockstepServerOptions): void {
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in KNOWN_OPTIONS)) invalid(`${key} is not a lockstep server option (known: ${SERVER_OPTION_KEYS.join(', ')})`);
  }
  const check = (key: string, ok: (value: unknown) => boolean, expected: string) => {
    if (given[key] !== undefined) expect(key, given[key], ok, expected);
  };
  check('server', (v) => v instanceof NetServer, 'an http.Server (or https.Server)');
  check('host', (v) => typeof v === 'string' && v.length > 0, 'a non-empty host name or address string');
  check('port', (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535, 'an integer port 0–65535 (0 = ephemeral)');
  check('paths', (v) => Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === 'string'), 'a non-empty array of path strings such as ["/ws"]');
  check('handler', isFunction, 'a function (message, run, context) => void | Promise<void>');
  check('ready', isFunction, 'a function returning a Promise');
  check('limits', isObject, 'an object of connection limits');
  check('eventLog', hasMethods('append', 'readAfter'), 'an EventLog (such as MemoryEventLog)');
  check('scaleOut', hasMethods('available', 'start'), 'a ScaleOut (such as createRedisScaleOut(...))');
  check('allowedOrigins', (v) => Array.isArray(v) && v.every((o) => typeof o === 'string'), 'an array of Origin strings such as ["https://app.example"]');
  check('logger', hasMethods('info', 'warn', 'error'), 'a logger with info, warn and error methods (pino)');
  check('onTrace', isFunction, 'a function receiving each trace entry');
  check('clock', hasMethods('setTimeout', 'clearTimeout'), 'a Clock with setTimeout and clearTimeout (SimulatedClock)');
  check('demoPage', (v) => typeof v === 'boolean', 'a boolean');
  check('inspect', (v) => isFunction(v) || hasMethods('next')(v), 'an inspection observer or callback');
  check('trustProxy', (v) => typeof v === 'boolean', 'a boolean');
}

function resolveRecord(record: RecordOption | undefined): ResolvedRecord | undefined {
  if (record === undefined) return undefined;
  if (typeof record === 'function') {
    return { target: record, maxEntries: DEFAULT_MAX_TRACE_ENTRIES, maxBytes: DEFAULT_MAX_TRACE_BYTES, maxTotalBytes: DEFAULT_MAX_TOTAL_TRACE_BYTES };
  }
  if (typeof record !== 'object' || record === null || typeof record.dir !== 'string' || record.dir.length === 0) {
    invalid('record must be { dir: string } or a function receiving each trace');
  }
  return {
    target: { dir: record.dir },
    maxEntries: positiveInteger('record.maxEntries', record.maxEntries ?? DEFAULT_MAX_TRACE_ENTRIES),
    maxBytes: positiveInteger('record.maxBytes', record.maxBytes ?? DEFAULT_MAX_TRACE_BYTES),
    maxTotalBytes: positiveInteger('record.maxTotalBytes', record.maxTotalBytes ?? DEFAULT_MAX_TOTAL_TRACE_BYTES),
  };
}

export function resolveOptions(options: LockstepServerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid(`options must be an object, got ${describeValue(options)}`);
  checkTypes(options);
  // A key given as undefined means "the default", as everywhere else in the options.
  const given = Object.entries(options.limits ?? {}).filter(([, value]) => value !== undefined);
  const limits: ConnectionLimits = Object.assign({}, DEFAULT_CONNECTION_LIMITS, Object.fromEntries(given));
  for (const name of Object.keys(limits)) {
    if (!(name in DEFAULT_CONNECTION_LIMITS)) invalid(`limits.${name} is not a known limit (${Object.keys(DEFAULT_CONNECTION_LIMITS).join(', ')})`);
  }
  for (const [name, value] of Object.entries(limits)) positiveInteger(`limits.${name}`, value);
  const paths = options.paths ?? ['/ws', '/websocket'];
  for (const path of paths) if (!path.startsWith('/')) invalid(`paths entries must start with "/", got ${describeValue(path)}`);
  const { verifyToken, devTokens } = resolveAuth(options);
  return {
    server: options.server,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    paths,
    handler: options.handler ?? demoAgent,
    verifyToken,
    devTokens,
    ready: options.ready ?? (async () => {}),
    limits,
    maxPayload: positiveInteger('maxPayload', options.maxPayload ?? 1024 * 1024),
    eventLog: options.eventLog,
    scaleOut: options.scaleOut,
    drainMs: positiveInteger('drainMs', options.drainMs ?? 10_000),
    maxConnectionsPerUser: positiveInteger('maxConnectionsPerUser', options.maxConnectionsPerUser ?? 16),
    allowedOrigins: options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins),
    logger: options.logger ?? silentLogger,
    onTrace: options.onTrace,
    clock: options.clock,
    demoPage: options.demoPage ?? false,
    inspect: options.inspect,
    record: resolveRecord(options.record),
    closeGraceMs: positiveInteger('closeGraceMs', options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS),
    maxConnections: positiveInteger('maxConnections', options.maxConnections ?? 10_000),
    maxConnectionsPerAddress: positiveInteger('maxConnectionsPerAddress', options.maxConnectionsPerAddress ?? 256),
    trustProxy: options.trustProxy ?? false,
    runDeadlines: {
      runTimeoutMs: timerDelay('runTimeoutMs', options.runTimeoutMs ?? DEFAULT_RUN_DEADLINES.runTimeoutMs),
      runIdleTimeoutMs: timerDelay('runIdleTimeoutMs', options.runIdleTimeoutMs ?? DEFAULT_RUN_DEADLINES.runIdleTimeoutMs),
      approvalTimeoutMs: timerDelay('approvalTimeoutMs', options.approvalTimeoutMs ?? DEFAULT_RUN_DEADLINES.approvalTimeoutMs),
    },
  };
}
