/**
 * `createRedisScaleOut(url)`: several lockstep nodes sharing users through one Redis.
 * Two connections: one for commands (the log, leases) and one for pub/sub (the fanout),
 * because a subscribed Redis connection cannot run other commands.
 *
 * The command connection never fails a command while Redis is away (`maxRetriesPerRequest:
 * null`): appends wait in the client's in-order queue and are written when Redis returns.
 * New handshakes are refused with 1013 meanwhile (`available()`).
 */
import { RedisEventLog, type RedisEventLogOptions } from './redis-event-log.js';
import { RedisFanout } from './redis-fanout.js';
import { RedisRunControl } from './redis-run-control.js';
import type { ScaleOut } from './scale-out.js';
import { RunLeases } from '../server/run-lease.js';
import type { Clock } from '../clock.js';
import { LockstepError } from '../protocol/errors.js';

/** Options of `createRedisScaleOut`: the event log's retention plus the run lease time. */
export interface RedisScaleOutOptions extends RedisEventLogOptions {
  /** Called for background failures (renewal, resubscribe); default: ignored. */
  onError?: (error: unknown) => void;
  /**
   * How long the availability check (a PING, run for every new handshake) waits for Redis
   * to answer, in ms. Default 1000. A frozen Redis (SIGSTOP, a partition) keeps its socket
   * connected but answers nothing: past this bound new handshakes close 1013.
   */
  availabilityTimeoutMs?: number;
  /** Called when the connection to Redis is lost or back (logs). */
  onStatus?: (status: 'down' | 'up') => void;
}

/** Redis-backed scale-out: a shared event log, cross-node fan-out, run leases and availability; pass it as the `scaleOut` option. */
export interface RedisScaleOut extends ScaleOut {
  readonly eventLog: RedisEventLog;
  /** Stops lease renewal and disconnects; call after `server.close()` and `server.whenRunsIdle()`. */
  close(): Promise<void>;
}

/**
 * Connects (resolves once Redis answered and the shared epoch is known). ioredis is loaded by
 * the first call, not by `import 'lockstep'`.
 */
export async function createRedisScaleOut(url: string, options: RedisScaleOutOptions = {}): Promise<RedisScaleOut> {
  const bounds = [
    'retainEvents', 'retainMs', 'leaseMs', 'availabilityTimeoutMs',
    'retainBytesPerUser', 'retainMessageIds', 'retainMessageBytesPerUser', 'retainMessageIdsTotal',
  ] as const;
  for (const name of bounds) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', `${name} must be a positive integer, got ${String(value)}`);
    }
  }
  // Loaded here, not at the top: `import 'lockstep'` must not pay for ioredis (≈40 modules)
  // when no Redis is used.
  const { Redis } = await import('ioredis');
  const onError = options.onError ?? (() => {});
  // Reconnect forever, at most every second: a node outlives a Redis restart.
  const retryStrategy = (times: number) => Math.min(times * 100, 1000);
  const commands = new Redis(url, { maxRetriesPerRequest: null, retryStrategy, lazyConnect: true });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, retryStrategy, autoResubscribe: false, lazyConnect: true });
  commands.on('error', onError);
  subscriber.on('error', onError);
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
  } catch (error) {
    // At start-up an unreachable Redis is a configuration error: fail now, do not retry forever.
    commands.disconnect();
    subscriber.disconnect();
    throw new Error(`cannot connect to Redis: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  const eventLog = new RedisEventLog(commands, options);
  const fanout = new RedisFanout(subscriber, eventLog.keys, onError);
  const runControl = new RedisRunControl(commands, subscriber, eventLog.keys);
  await Promise.all([eventLog.refreshEpoch(), runControl.resubscribe()]);

  // Until both connections are back and the epoch re-read, the node takes no new connections.
  let epochKnown = true;
  commands.on('close', () => {
    if (epochKnown) options.onStatus?.('down');
    epochKnown = false;
  });
  commands.on('ready', () => {
    eventLog.refreshEpoch().then(() => {
      epochKnown = true;
      options.onStatus?.('up');
    }, onError);
  });
  subscriber.on('ready', () => {
    fanout.resubscribeAndResync().catch(onError);
    runControl.resubscribe().catch(onError);
  });

  const reachable = () => epochKnown && commands.status === 'ready' && subscriber.status === 'ready';
  const leases = new RunLeases(eventLog, { renewMs: Math.max(1, Math.floor(eventLog.leaseMs / 3)), canReach: reachable, onError });

  const availabilityTimeoutMs = options.availabilityTimeoutMs ?? 1000;
  // "Available" means "answers within a bound", not "the socket is connected".
  const answersInTime = (): Promise<void> => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis did not answer PING within ${availabilityTimeoutMs} ms`)), availabilityTimeoutMs);
    commands.ping().then(() => {
      clearTimeout(timer);
      resolve();
    }, (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });

  return {
    eventLog,
    fanout,
    runControl,
    available: () => (reachable() ? answersInTime() : Promise.reject(new Error('redis is unreachable'))),
    start: (clock?: Clock) => leases.start(clock),
    async close() {
      leases.stop();
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
