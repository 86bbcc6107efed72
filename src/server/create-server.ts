/**
 * `createLockstepServer(options)`: standalone (`listen()`) or attached to an existing
 * http.Server. It routes upgrades on the lockstep paths to a ws server, creates one
 * connection actor per socket, and wires the actor's effects to ws, the stream hub and the
 * application handler. Decisions belong to the machines; this file only connects parts.
 */
import { performance } from 'node:perf_hooks';
import type { SocketFacts } from '../../machines/connection-bounds.js';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createActor } from 'xstate';
import { WebSocketServer, type WebSocket } from 'ws';
import { connectionMachine, type HandlerInvocation } from '../../machines/connection.js';
import type { VerifiedIdentity } from '../../machines/handshake.js';
import { handshakeEffects } from '../adapter/handshake-effects.js';
import { linkConnection, LinkedWebSocket, type ConnectionLink, type ConnectionServer } from '../adapter/connection-link.js';
import { SocketTable, socketEffects, type ConnectionSelf } from '../adapter/socket-effects.js';
import { ConnectionDataPath, type DataPathPorts } from '../../machines/connection-data-path.js';
import { runHandler } from '../agent/handler.js';
import { DeferredStarts } from './deferred-starts.js';
import { startRun, type RunHandle } from '../agent/run-handle.js';
import { MemoryEventLog } from '../delivery/event-log.js';
import { StreamHub } from '../delivery/stream-hub.js';
import { andThen, isPromise } from '../delivery/maybe-promise.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import { credentialsFromUpgrade, selectSubprotocol } from '../protocol/credentials.js';
import { resumeFromUrl } from '../protocol/resume.js';
import { ConnectionRegistry, topState, type ConnectionActor } from './connection-registry.js';
import { createRequestHandler } from './http-routes.js';
import { createDemoPageHandler } from './demo-page.js';
import { LifecycleLog } from './lifecycle-log.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { resolveOptions, type LockstepServerOptions } from './options.js';
import { OpenRuns } from './open-runs.js';
import { RunControl } from './run-control.js';
import { RunTracker } from './run-tracker.js';
import { serverLifecycleMachine } from '../../machines/server-lifecycle.js';
import { recordConnection } from '../trace/recorder.js';
import { MachineRunner } from '../runtime/machine-runner.js';
import { traceBudget } from '../trace/budget.js';
import { combineInspectors } from './combine-inspectors.js';
import { traceSink } from '../trace/sink.js';
import { UserRateBuckets } from './user-rate-buckets.js';
import { LockstepError } from '../protocol/errors.js';
import { createReadinessProbe } from './readiness.js';
import { remoteAddressOf, UpgradeAdmission } from './upgrade-admission.js';
import { flatRandomUUID } from './flat-ids.js';
import { describeValue } from './options.js';

/** What {@link createLockstepServer} returns. */
export interface LockstepServer {
  /** The http.Server lockstep listens on (yours when attached). */
  readonly httpServer: HttpServer;
  /** The per-user event streams: publish, join, and the event log. */
  readonly hub: StreamHub;
  /** The Prometheus metrics served on GET /metrics. */
  readonly metrics: ServerMetrics;
  /** True when dev tokens are in use (`auth: 'dev'`): every token is taken as its user id. */
  readonly devTokens: boolean;
  /**
   * Starts a run for `userId` outside any request (a push from an agent): `agent_started` is
   * appended at once; report the rest through the handle. Every tab of the user receives it.
   */
  startRun(userId: string): RunHandle;
  /** Pushes a one-event-run to every connection of `userId` (`agent_started`, `agent_completed` with `data`). */
  sendToUser(userId: string, data: unknown): string;
  /** Standalone only: listen on `options.host:options.port` (port 0 = ephemeral). */
  listen(): Promise<AddressInfo>;
  /** Serves GET /health (liveness), GET /ready (readiness), GET /metrics, 405 for other methods on them; returns false for other requests. For embedders. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Adopts a WebSocket that your own server already upgraded (a `ws` WebSocketServer in
   * `noServer` mode, `@fastify/websocket`, …) and runs the lockstep protocol on it; `req` is
   * the upgrade request (credentials and `?epoch&lastSeq` are read from it). Call it
   * synchronously in the upgrade callback: `ws` drops frames that arrive before a `message`
   * listener exists, and this attaches lockstep's listeners at once. During `close()` the
   * socket is closed with 1001 at once. `paths` and `allowedOrigins` apply only to upgrades
   * lockstep handles itself: your upgrade handler routes and checks origins for these.
   */
  handleConnection(ws: WebSocket, req: IncomingMessage): void;
  /**
   * The `ws` server options lockstep relies on, for a WebSocketServer you create yourself:
   * `maxPayload` (bigger frames close with 1009) and `handleProtocols` (selects `lockstep.v1`,
   * never echoes the bearer-token subprotocol back in a response header).
   */
  readonly webSocketOptions: {
    /** `LockstepServerOptions.maxPayload`. */
    maxPayload: number;
    /** Selects `lockstep.v1` when offered, else no subprotocol. */
    handleProtocols: (protocols: Set<string>) => string | false;
  };
  /** Live connection actors by top-level state. */
  connectionsByState(): Record<string, number>;
  /** Number of live connection actors (returns to 0 when every socket is gone). */
  readonly liveConnections: number;
  /**
   * Graceful shutdown: refuse new upgrades (503), let in-flight runs finish within `drainMs`
   * (their events keep flowing), close every socket with 1001, resolve when every connection
   * actor reached `closed`. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Resolves once no handler is running. After `close()` with a shared log (Redis), a node
   * can wait for runs that outlived `drainMs`: their events still reach clients that
   * resumed on other nodes.
   */
  whenRunsIdle(): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Standalone HTTP timeouts: a client that never finishes its request headers (slowloris) is
 * cut after HEADERS_TIMEOUT_MS, a request body that never ends after REQUEST_TIMEOUT_MS;
 * checked every CONNECTIONS_CHECK_MS. Upgraded WebSockets are not subject to them.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
const CONNECTIONS_CHECK_MS = 1_000;

/** http.Servers a lockstep server is attached to: a second one would handle every upgrade twice. */
const attachedServers = new WeakSet<HttpServer>();

/** A user id argument of startRun/sendToUser: a non-empty string, else LOCKSTEP_ERR_INVALID_ARGUMENT. */
function checkUserId(method: string, userId: unknown): string {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `${method}(userId): userId must be a non-empty string, got ${describeValue(userId)}`);
  }
  return userId;
}

/**
 * Creates a lockstep server: standalone (`listen()`), attached to your http.Server
 * (`options.server`), or fed sockets you upgraded yourself (`handleConnection`).
 * See README.md "Embedding" and examples/.
 */
export function createLockstepServer(userOptions: LockstepServerOptions = {}): LockstepServer {
  const options = resolveOptions(userOptions);
  if (options.devTokens) {
    options.logger.warn({ auth: 'dev' }, "dev tokens (auth: 'dev'): every token is taken as its user id; never expose this server");
  }
  const standalone = options.server === undefined;
  if (options.server !== undefined && attachedServers.has(options.server)) {
    throw new LockstepError(
      'LOCKSTEP_ERR_SERVER_ATTACHED',
      'a lockstep server is already attached to this http.Server; use one lockstep server with several `paths`, or close() the first one before attaching another',
    );
  }
  const httpServer = options.server ?? createHttpServer({
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
  });
  if (options.server !== undefined) attachedServers.add(options.server);
  const scaleOut = options.scaleOut;
  const hub = new StreamHub(scaleOut?.eventLog ?? options.eventLog ?? new MemoryEventLog(), {
    maxConnectionsPerUser: options.maxConnectionsPerUser,
    ...(scaleOut ? { fanout: scaleOut.fanout } : {}),
    onError: (error) => options.logger.warn({ err: String(error) }, 'event log read failed; connection closed 1001 to resume'),
  });
  let shuttingDown = false;
  let closed: Promise<void> | undefined;
  let listening: Promise<AddressInfo> | undefined;
  const admission = new UpgradeAdmission(options);
  const refusedWhileClosing = (method: string) => {
    if (shuttingDown) {
      throw new LockstepError('LOCKSTEP_ERR_SERVER_CLOSED', `${method}: the server is closing or closed (close() was called); create a new server`);
    }
  };

  // The gauge reads the registry only when scraped, after both exist.
  const metrics = createMetrics(() => registry.countByState());
  // A connection whose action threw leaves the stream and closes with 1011; the others go on.
  const registry = new ConnectionRegistry(metrics, options.logger, options.onTrace, (connectionId, actor) => {
    hub.leave(connectionId);
    sockets.socketOf(actor)?.close(CloseCode.INTERNAL_FAULT, CloseReason.INTERNAL_FAULT);
  });
  const log = new LifecycleLog(options.logger);

  // Off by default; when off, attach() pays one undefined check per connection, no more.
  const traceBytes = options.record && traceBudget(options.record.maxTotalBytes);
  const recording = options.record && Object.assign({}, options.record, { budget: traceBytes, sink: traceSink(options.record.target, options.logger, traceBytes) });

  const sockets = new SocketTable();
  const userBuckets = new UserRateBuckets(options.limits.userMessageRate, options.limits.userMessageBurst);
  const runs = new RunTracker();
  const webSocketOptions = {
    maxPayload: options.maxPayload,
    handleProtocols: (protocols: Set<string>) => selectSubprotocol(protocols),
  };
  // Its sockets hold their connection's link in a slot of their own (connection-link.ts).
  const wss = new WebSocketServer({ noServer: true, WebSocket: LinkedWebSocket, ...webSocketOptions });

  // The connection buckets' clock: the SimulatedClock's time when tests pass one, else monotonic time.
  const clockNow = options.clock as { now?: () => number } | undefined;
  const nowMs = typeof clockNow?.now === 'function' ? () => clockNow.now!() : () => performance.now();
  // Run deadlines run on the same clock; real timers are unref'd (a run's deadline never keeps the process up).
  const openRuns = new OpenRuns(options.runDeadlines, options.clock
    ? { now: nowMs, setTimeout: (callback, ms) => options.clock!.setTimeout(callback, ms), clearTimeout: (id) => options.clock!.clearTimeout(id) }
    : { now: nowMs, setTimeout: (callback, ms) => setTimeout(callback, ms).unref(), clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout) });

  const runControl = new RunControl(openRuns, scaleOut?.runControl, (error) => options.logger.warn({ err: String(error) }, 'run control read failed'));
  /** Calls `refused` when `outcome` is (or resolves) false; a shared store that fails refuses too (the client may retry). */
  const whenFalse = (outcome: boolean | Promise<boolean>, refused: () => void, failure: string) => {
    if (outcome === false) refused();
    else if (outcome !== true) {
      outcome.then((done) => {
        if (!done) refused();
      }, (error: unknown) => {
        options.logger.warn({ err: String(error) }, failure);
        refused();
      });
    }
  };

  /** Starts a run watched by `openRuns` (deadlines, approvals; cancel when `connectionId` is given): its entry, whose `run` is the handle. */
  const startUserRun = (userId: string, runId: string, threadId: string | undefined, connectionId: string | undefined) => {
    const watch = openRuns.begin(runId, userId, connectionId);
    const run = startRun(runId, userId, (event, data) => {
      const appended = hub.publish(userId, { runId, event, data, ts: Date.now() });
      // A shared log may refuse an append (the run's lease was lost): nothing reaches a client.
      if (isPromise(appended)) {
        appended.catch((error: unknown) => options.logger.warn({ runId, event, err: String(error) }, 'event not appended'));
      }
    }, undefined, threadId === undefined ? { observer: watch } : { threadId, observer: watch });
    openRuns.attach(watch, run);
    return watch;
  };

  const invokeHandler = ({ self }: { self: ConnectionSelf }, params: HandlerInvocation) => {
    // Exactly-once per message id and user, across connections and reconnects (inside retention).
    const recorded = andThen(hub.log.recordMessage(params.userId, params.message.id, params.runId), (original) => {
      accepted(self, params, original);
    });
    if (isPromise(recorded)) {
      recorded.catch((error: unknown) =>
        options.logger.warn({ connectionId: params.connectionId, err: String(error) }, 'message id not recorded; message not accepted'));
    }
  };

  const accepted = (self: ConnectionSelf, params: HandlerInvocation, original: string | undefined) => {
    const answer = { id: params.message.id, runId: original ?? params.runId, duplicate: original !== undefined };
    // The ack path writes the ack while `ready` (under the hard bound); otherwise the machine decides.
    const path = sockets.pathOf(self);
    if (path) path.offerAccepted(answer);
    else self.send({ type: 'message.accepted', ...answer, bufferedBytes: sockets.socketOf(self)?.bufferedAmount ?? 0 });
    if (original !== undefined) return;
    // Started in a microtask: after this transition (or the data path's write) returned, so the
    // handler always observes its connection in `ready`, and its emissions never re-enter the
    // actor mid-transition. One microtask for every message accepted in the same turn.
    runStarts.add(self, params);
  };

  const startMessageRun = (self: ConnectionSelf, params: HandlerInvocation) => {
    if (registry.tracing) {
      registry.trace({
        kind: 'handler',
        connectionId: params.connectionId,
        runId: params.runId,
        state: topState(self as ConnectionActor),
      });
    }
    const watch = startUserRun(params.userId, params.runId, params.message.threadId, params.connectionId);
    const handled = runHandler(options.handler, params.message, watch.run, watch, (error) => {
      // After a cancel or a deadline the handler's next emission is refused (it throws): that is the stop, not a fault.
      if (watch.stoppedBy !== undefined) return;
      metrics.handlerFaults.inc();
      options.logger.warn({ connectionId: params.connectionId, userId: params.userId, runId: params.runId, err: String(error) }, 'handler threw; run ended with agent_error');
    });
    // A handler that answered synchronously ended its run: never open, no timer, nothing to wait for.
    if (handled === undefined) return;
    openRuns.watchNow(watch);
    runs.track(handled.finally(() => openRuns.settled(params.runId)));
  };
  const runStarts = new DeferredStarts(startMessageRun, (error, _, params: HandlerInvocation) => {
    // E.g. an onTrace hook that threw: this message's run did not start; the others still do.
    options.logger.error({ connectionId: params.connectionId, runId: params.runId, err: String(error) }, 'run not started');
  });

  // The wall clock when the token was checked is a fact for the machine, which turns
  // `expiresAt` into its `tokenExpiry` delay (machines read no clock).
  // Only the fields the handshake reads (handshake-effects.ts verifiedEvent), as a plain literal:
  // no spread-first literal (slow on Node 20), and nothing of a verifier's object (say, a parsed
  // token payload with an own `__proto__` key) is copied by assignment.
  const stamped = (identity: VerifiedIdentity): VerifiedIdentity =>
    ({ userId: identity?.userId, expiresAt: identity?.expiresAt, verifiedAt: Date.now() }) as VerifiedIdentity;
  // Synchronous when the verifier is (the handshake effect then answers in one microtask).
  const verify = (token: string): Promise<VerifiedIdentity> | VerifiedIdentity => {
    const identity = options.verifyToken(token);
    return isPromise(identity) ? identity.then(stamped) : stamped(identity);
  };
  const machine = connectionMachine.provide({
    // Built once per server: the slow spread-first literal costs nothing here.
    // eslint-disable-next-line no-restricted-syntax
    actions: {
      ...socketEffects(sockets),
      ...handshakeEffects({
        verify,
        // With a shared backend, a node that cannot reach it refuses new connections (1013).
        backendReady: scaleOut
          ? async () => {
              await options.ready();
              await scaleOut.available();
            }
          : () => options.ready(),
      }),
      invokeHandler,
      spendUserToken: (_, params) => userBuckets.spend(params.userId),
      cancelRun: ({ self }, params) => {
        const refused = () => self.send({ type: 'cancel.refused', runId: params.runId, bufferedBytes: sockets.socketOf(self)?.bufferedAmount ?? 0 });
        whenFalse(runControl.cancel(params.userId, params.runId), refused, 'cancel not recorded');
      },
      answerApproval: ({ self }, params) => {
        const refused = () => self.send({ type: 'approval.refused', runId: params.runId, toolCallId: params.toolCallId, bufferedBytes: sockets.socketOf(self)?.bufferedAmount ?? 0 });
        whenFalse(runControl.answer(params.userId, params.runId, params.toolCallId, params.approved, params.data), refused, 'approval answer not recorded');
      },
      joinStream: ({ self }, params) => {
        // The connection's link is its inbox (connection-link.ts): events go to its data path when it has one.
        const link = sockets.bindingOf(self) as ConnectionLink | undefined;
        // Every connection attach() makes is linked; a fault here closes just this one (1011).
        if (link === undefined) throw new Error('joinStream: the connection has no link to its socket');
        hub.join(params.userId, params.connectionId, params.resume, link);
      },
      readFromLog: ({ self }, params) => {
        // The hub keys subscribers by connection id, which the actor's context holds.
        const { connectionId } = (self as ConnectionActor).getSnapshot().context;
        const read = andThen(hub.readForConnection(connectionId, params.userId, params.afterSeq), (events) =>
          self.send({ type: 'stream.caughtUp', events }));
        // A failed read is treated like events lost to retention: the connection closes.
        if (isPromise(read)) read.catch(() => self.send({ type: 'stream.caughtUp', events: undefined }));
      },
      leaveStream: (_, params) => hub.leave(params.connectionId),
    },
  });

  // What every connection asks of the server (connection-link.ts): one object, not closures per connection.
  const connectionServer: ConnectionServer = {
    batcher: sockets.batcher,
    frameFacts: (userId, bufferedBytes) => {
      const facts: SocketFacts = { bufferedBytes, earlyBytesTotal: registry.earlyBytesTotal, atMs: nowMs() };
      if (userId !== undefined) facts.userTokens = userBuckets.tokens(userId);
      return facts;
    },
    spendUserToken: (userId) => userBuckets.spend(userId),
    invokeHandler: (self, invocation) => invokeHandler({ self }, invocation),
    nowMs,
  };
  const makeDataPath = (ports: DataPathPorts) => new ConnectionDataPath(ports, options.limits);

  const attach = (ws: WebSocket, req: IncomingMessage): void => {
    const connectionId = flatRandomUUID();
    const credentials = credentialsFromUpgrade(req.headers);
    // pingSeed: the heartbeat nonce's unguessable part (a pong must echo it; see connection-bounds.ts).
    const input = { connectionId, token: credentials.token, resume: resumeFromUrl(req.url), limits: options.limits, pingSeed: flatRandomUUID() };
    // Only for a connection being recorded (off by default).
    // eslint-disable-next-line no-restricted-syntax
    const recorder = recording && recordConnection({
      ...input,
      credentials: credentials.source,
      clock: options.clock,
      maxEntries: recording.maxEntries,
      maxBytes: recording.maxBytes,
      ...(recording.budget ? { budget: recording.budget } : {}),
      onTrace: (trace, heldBytes) => recording.sink.write(trace, heldBytes),
    });
    // Both observers see every inspection event: the Stately inspector and the recorder.
    const inspect = combineInspectors(options.inspect, recorder ? recorder.inspect : undefined);
    // The recorder's clock wraps options.clock (to see which named delays fire).
    const clock = recorder ? recorder.clock : options.clock;
    // Traced and inspected connections run as a full Actor: the recorder and the inspector read
    // its inspection events. The others run as a MachineRunner (the same machine, no actor system).
    let actor: ConnectionActor;
    if (recorder || inspect) {
      const full = createActor(machine, { input, ...(clock ? { clock } : {}), ...(inspect ? { inspect } : {}) });
      recorder?.watch(full);
      actor = full;
    } else actor = new MachineRunner(machine, { input, clock });
    // Traced and inspected connections keep the full actor path: every event is an input the
    // trace and the inspector see. The others get a data path (connection-data-path.ts).
    // Synchronously, before ws can read a frame that followed the upgrade.
    sockets.bindSocket(actor, linkConnection(ws, actor, connectionServer, req.socket, recorder || inspect ? undefined : makeDataPath));
    registry.track(connectionId, actor);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const origin = req.headers.origin;
    const remoteAddress = remoteAddressOf(req, options.trustProxy);
    if (!options.paths.includes(path)) {
      // Attached: other upgrade listeners of the embedding server may own this path.
      if (standalone) {
        log.upgradeRefused(404, path, origin, remoteAddress);
        metrics.upgradesRefused.inc({ status: '404', reason: 'path' });
        refuseUpgrade(socket, '404 Not Found');
      }
      return;
    }
    if (options.allowedOrigins !== undefined && origin !== undefined && !options.allowedOrigins.has(origin)) {
      log.upgradeRefused(403, path, origin, remoteAddress);
      metrics.upgradesRefused.inc({ status: '403', reason: 'origin' });
      refuseUpgrade(socket, '403 Forbidden');
      return;
    }
    if (shuttingDown) {
      log.upgradeRefused(503, path, origin, remoteAddress);
      metrics.upgradesRefused.inc({ status: '503', reason: 'draining' });
      refuseUpgrade(socket, '503 Service Unavailable');
      return;
    }
    // Counted from here until the TCP socket closes, before any ws object or actor exists.
    const admitted = admission.admit(socket, remoteAddress);
    if (!admitted.admitted) {
      log.upgradeRefused(admitted.status, path, origin, remoteAddress, admitted.reason);
      metrics.upgradesRefused.inc({ status: String(admitted.status), reason: admitted.reason });
      refuseUpgrade(socket, admitted.status === 429 ? '429 Too Many Requests' : '503 Service Unavailable');
      return;
    }
    // The 101 response joins the write batch, so with a ready backend it leaves together with
    // the `ready` frame (one segment: the client reads both at once); a slow backend does not
    // hold it — the batch flushes as soon as this callback's microtasks have run.
    sockets.batcher.batch(socket);
    wss.handleUpgrade(req, socket, head, attach);
  };
  httpServer.on('upgrade', onUpgrade);

  scaleOut?.start(options.clock);

  const lifecycle = createActor(
    serverLifecycleMachine.provide({
      actions: {
        stopAccepting: () => {
          shuttingDown = true;
        },
        watchRuns: ({ self }) => void runs.whenIdle().then(() => self.send({ type: 'runs.idle' })),
        closeConnections: () => {
          for (const actor of registry.actors()) actor.send({ type: 'server.shutdown' });
        },
        watchConnections: ({ self }) => void registry.whenEmpty().then(() => self.send({ type: 'connections.empty' })),
        forceClose: () => {
          // Peers that did not answer the 1001 in closeGraceMs, upgrades never completed,
          // HTTP requests never finished (slowloris): shutdown ends whatever sockets do.
          for (const actor of registry.actors()) sockets.socketOf(actor)?.terminate();
          admission.destroyAll();
          if (standalone) httpServer.closeAllConnections();
        },
      },
    }),
    {
      input: { drainMs: options.drainMs, closeGraceMs: options.closeGraceMs },
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    },
  ).start();

  const handleRequest = createRequestHandler({
    registry,
    metrics,
    isShuttingDown: () => shuttingDown,
    readiness: createReadinessProbe({
      isShuttingDown: () => shuttingDown,
      ready: options.ready,
      available: scaleOut ? () => scaleOut.available() : undefined,
    }),
    demoPage: options.demoPage ? createDemoPageHandler() : undefined,
  });
  if (standalone) {
    httpServer.on('request', (req, res) => {
      if (handleRequest(req, res)) return;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found', paths: ['/health', '/ready', '/metrics', ...options.paths] }));
    });
  }

  return {
    httpServer,
    hub,
    startRun(userId) {
      refusedWhileClosing('startRun');
      const watch = startUserRun(checkUserId('startRun', userId), `push.${randomUUID()}`, undefined, undefined);
      openRuns.watchSoon(watch);
      return watch.run;
    },
    sendToUser(userId, data) {
      refusedWhileClosing('sendToUser');
      const watch = startUserRun(checkUserId('sendToUser', userId), `push.${randomUUID()}`, undefined, undefined);
      // Open until `complete` ended it (should it refuse `data`, until its deadline).
      openRuns.watchSoon(watch);
      const { run } = watch;
      run.complete(data);
      return run.runId;
    },
    metrics,
    devTokens: options.devTokens,
    handleRequest,
    handleConnection(ws, req) {
      if (shuttingDown) {
        // Already upgraded, so no 503 is possible: the close code says the same thing.
        log.refusedWhileShuttingDown((req.url ?? '/').split('?')[0] ?? '/', req.socket.remoteAddress);
        ws.close(CloseCode.GOING_AWAY, CloseReason.SHUTDOWN);
        return;
      }
      attach(ws, req);
    },
    webSocketOptions,
    connectionsByState: () => registry.countByState(),
    get liveConnections() {
      return registry.size;
    },
    whenRunsIdle: () => runs.whenIdle(),
    listen() {
      if (!standalone) {
        return Promise.reject(new Error('listen() is for standalone servers; call listen() on your own http.Server'));
      }
      if (shuttingDown) {
        return Promise.reject(new LockstepError('LOCKSTEP_ERR_SERVER_CLOSED', 'listen() after close(): a closed lockstep server cannot listen again; create a new server'));
      }
      if (listening !== undefined) {
        return Promise.reject(new LockstepError('LOCKSTEP_ERR_ALREADY_LISTENING', 'listen() was already called on this server; await the first call (it resolves with the address)'));
      }
      listening = new Promise((resolve, reject) => {
        // A failed listen (EADDRINUSE) may be retried.
        const failed = (error: Error) => {
          listening = undefined;
          reject(error);
        };
        httpServer.once('error', failed);
        httpServer.listen(options.port, options.host, () => {
          httpServer.off('error', failed);
          resolve(httpServer.address() as AddressInfo);
        });
      });
      return listening;
    },
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          lifecycle.subscribe({ complete: resolve });
          lifecycle.send({ type: 'server.close' });
        });
        httpServer.off('upgrade', onUpgrade);
        if (!standalone) attachedServers.delete(httpServer);
        // forceClose terminated the sockets it found; their actors close on the next ticks.
        await registry.whenEmpty();
        wss.close();
        await recording?.sink.flushed();
        if (standalone && httpServer.listening) {
          await new Promise<void>((resolve) => {
            httpServer.close(() => resolve());
            // Runs and sockets are done: whatever is left (keep-alive, unfinished requests) goes now.
            httpServer.closeAllConnections();
          });
        }
      })();
      return closed;
    },
  };
}
