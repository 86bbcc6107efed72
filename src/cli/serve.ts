/** `lockstep serve`: the demo server with the demo agent, until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { createLockstepServer } from '../server/create-server.js';
import { MemoryEventLog } from '../delivery/event-log.js';
import { demoBackend } from './demo-backend.js';
import { createServeLogger, LOG_LEVELS, resolveLogLevel } from './serve-logger.js';
import { connectRedis } from './serve-redis.js';
import { pacedDemoAgent } from '../agent/paced-demo-agent.js';
import { streamingDemoAgent } from '../agent/streaming-demo-agent.js';

export const SERVE_USAGE = `Usage: lockstep serve [--port 8080] [--host 127.0.0.1] [--backend-delay-ms N] [--backend-fail] [--log-level info] [--record DIR] [--inspect [--inspect-port N]]

  --port N               port to listen on (0 = any free port)          default 8080
  --host H               address to bind                                default 127.0.0.1
  --backend-delay-ms N   simulate a backend that becomes ready N ms after start
  --backend-fail         simulate a backend that never becomes ready (handshakes close 1013)
  --inspect              stream every connection actor to Stately's inspector through a relay
                         on 127.0.0.1 (needs @statelyai/inspect); prints the page to open
  --inspect-port N       the relay's port (0 = any free port)                   default 0
  --log-level L          ${LOG_LEVELS.join(' | ')} (JSON lines on stderr)  default info
  --record DIR           write each closed connection's trace to DIR/<connectionId>.json (lockstep replay)
  --redis URL            share users with other nodes through Redis (redis://host:port)
                         default $LOCKSTEP_REDIS_URL; without either: in-memory, one node
  --run-lease-ms N       with --redis: a dead node's runs end (agent_error node_lost) N ms
                         after its last lease renewal                   default 10000
  --drain-ms N           on SIGTERM, how long runs may finish before sockets close 1001;
                         with --redis the process then still waits for them  default 10000
  --demo-step-ms N       the demo agent works N ms before each step (runs stay in flight)
  --demo-delta-ms N      the demo agent streams its answer as text deltas, one word every
                         N ms (Stop works mid-answer); 0: the five events, no deltas  default 0
  --close-grace-ms N     after the drain, how long sockets may take to close before the
                         rest is destroyed (exit within drain + grace)  default 5000
  --max-connections N    live WebSocket upgrades in total; the next gets HTTP 503  default 10000
  --max-connections-per-address N
                         live upgrades per remote address; the next gets HTTP 429  default 256
  --retain-bytes-per-user N
                         bytes of events kept per user for resume, in memory or in Redis
                         (JSON length; older ones age out, resume says gap)  default 8388608
  --retain-bytes-total N without --redis: bytes of events kept across all users
                         (the oldest of any user go first)             default 268435456
  --trust-proxy          behind one reverse proxy you run: the last X-Forwarded-For entry
                         is the remote address (for the per-address cap and logs)

Environment: LOCKSTEP_JWT_SECRET enables HS256 JWT auth; without it tokens are user ids (dev mode).
             LOCKSTEP_LOG_LEVEL sets the log level when --log-level is not given.`;

function nonNegativeInteger(name: string, raw: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`--${name} must be an integer 0–${max}, got "${raw}"`);
  }
  return value;
}

function positiveInteger(name: string, raw: string): number {
  const value = nonNegativeInteger(name, raw);
  if (value === 0) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** `--flag N` given → `{ key: N }`, absent → `{}` (the server's default). */
const positiveFlag = <K extends string>(key: K, name: string, raw: string | undefined): Partial<Record<K, number>> =>
  raw === undefined ? {} : ({ [key]: positiveInteger(name, raw) } as Record<K, number>);

export async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'backend-delay-ms': { type: 'string', default: '0' },
      'backend-fail': { type: 'boolean', default: false },
      inspect: { type: 'boolean', default: false },
      'inspect-port': { type: 'string', default: '0' },
      'log-level': { type: 'string' },
      record: { type: 'string' },
      redis: { type: 'string' },
      'run-lease-ms': { type: 'string' },
      'demo-step-ms': { type: 'string', default: '0' },
      'demo-delta-ms': { type: 'string', default: '0' },
      'drain-ms': { type: 'string' },
      'close-grace-ms': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'trust-proxy': { type: 'boolean', default: false },
      'retain-bytes-per-user': { type: 'string' },
      'retain-bytes-total': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return;
  }
  // Loaded only with --inspect: without it, inspection costs nothing, not even an import.
  const inspection = values.inspect ? await startInspection(nonNegativeInteger('inspect-port', values['inspect-port'], 65535)) : undefined;
  const logger = createServeLogger(resolveLogLevel(values['log-level'], process.env.LOCKSTEP_LOG_LEVEL));
  const redisUrl = values.redis ?? process.env.LOCKSTEP_REDIS_URL;
  const leaseMs = values['run-lease-ms'] === undefined ? undefined : nonNegativeInteger('run-lease-ms', values['run-lease-ms']);
  const retention = {
    ...positiveFlag('retainBytesPerUser', 'retain-bytes-per-user', values['retain-bytes-per-user']),
    ...positiveFlag('retainBytesTotal', 'retain-bytes-total', values['retain-bytes-total']),
  };
  if (redisUrl && retention.retainBytesTotal !== undefined) {
    throw new Error('--retain-bytes-total applies to the in-memory log; with --redis bound the total with Redis maxmemory (docs/operations.md)');
  }
  const scaleOut = redisUrl ? await connectRedis(redisUrl, leaseMs, retention) : undefined;
  const stepMs = nonNegativeInteger('demo-step-ms', values['demo-step-ms']);
  const deltaMs = nonNegativeInteger('demo-delta-ms', values['demo-delta-ms']);
  const demoHandler = deltaMs > 0 ? streamingDemoAgent({ deltaMs, stepMs }) : stepMs > 0 ? pacedDemoAgent(stepMs) : undefined;
  const server = createLockstepServer({
    // `lockstep serve` is the demo: without a secret it uses dev tokens, and says so below.
    ...(process.env.LOCKSTEP_JWT_SECRET ? {} : { auth: 'dev' as const }),
    ...(scaleOut ? { scaleOut } : {}),
    ...(!scaleOut && Object.keys(retention).length > 0 ? { eventLog: new MemoryEventLog(retention) } : {}),
    ...(demoHandler ? { handler: demoHandler } : {}),
    ...positiveFlag('drainMs', 'drain-ms', values['drain-ms']),
    ...positiveFlag('closeGraceMs', 'close-grace-ms', values['close-grace-ms']),
    ...positiveFlag('maxConnections', 'max-connections', values['max-connections']),
    ...positiveFlag('maxConnectionsPerAddress', 'max-connections-per-address', values['max-connections-per-address']),
    trustProxy: values['trust-proxy'],
    host: values.host,
    port: nonNegativeInteger('port', values.port, 65535),
    ready: demoBackend({
      delayMs: nonNegativeInteger('backend-delay-ms', values['backend-delay-ms']),
      fail: values['backend-fail'],
    }),
    logger,
    demoPage: true,
    ...(inspection ? { inspect: inspection.inspect } : {}),
    ...(values.record === undefined ? {} : { record: { dir: values.record } }),
  });
  if (server.devTokens) {
    console.error('lockstep: WARNING dev mode — no LOCKSTEP_JWT_SECRET, so a token is taken as the user id. Do not expose this server.');
  }
  const address = await server.listen();
  console.log(`lockstep listening on ws://${address.address}:${address.port}/ws (health: http://${address.address}:${address.port}/health)`);
  console.log(`lockstep demo chat: http://${address.address}:${address.port}/`);
  if (inspection) console.log(`lockstep inspector: open ${inspection.pageUrl} (relays to Stately's inspector)`);

  const stop = (signal: string) => {
    console.error(`lockstep: ${signal}, closing every connection with 1001`);
    server.close().then(
      async () => {
        await inspection?.close();
        if (scaleOut) {
          // Runs still in flight append to the shared log; clients that resumed elsewhere get them.
          await server.whenRunsIdle();
          await scaleOut.close();
        }
        process.exit(0);
      },
      (error: unknown) => {
        console.error('lockstep: shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function startInspection(port: number) {
  const { startInspectorRelay } = await import('../inspect/relay.js');
  const { createConnectionInspector } = await import('../inspect/inspector.js');
  const relay = await startInspectorRelay({ port });
  let inspector: Awaited<ReturnType<typeof createConnectionInspector>>;
  try {
    inspector = await createConnectionInspector(relay.wsUrl);
  } catch (error) {
    // Without @statelyai/inspect: the relay's listening socket would keep the process alive
    // after the message, so it is closed and the CLI exits non-zero (main.ts).
    await relay.close();
    throw error;
  }
  return {
    inspect: inspector.inspect,
    pageUrl: relay.pageUrl,
    close: async () => {
      inspector.stop();
      await relay.close();
    },
  };
}
