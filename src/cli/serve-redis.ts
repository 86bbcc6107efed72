/** `lockstep serve --redis URL`: connects the shared backend, or exits with a clear message. */
import { createRedisScaleOut, type RedisScaleOut, type RedisScaleOutOptions } from '../delivery/redis-scale-out.js';

/** `retention`: the serve flags that bound the Redis log too (`--retain-bytes-per-user`). */
export async function connectRedis(url: string, leaseMs: number | undefined, retention: Pick<RedisScaleOutOptions, 'retainBytesPerUser'> = {}): Promise<RedisScaleOut> {
  let lastError = '';
  const connecting = createRedisScaleOut(url, {
    ...(leaseMs === undefined ? {} : { leaseMs }),
    ...retention,
    onError: (error) => {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) console.error(`lockstep: redis: ${message}`);
      lastError = message;
    },
    onStatus: (status) =>
      console.error(status === 'down'
        ? 'lockstep: redis unreachable — new connections are refused with 1013, live ones wait and catch up'
        : 'lockstep: redis reachable again'),
  });
  const scaleOut = await connecting.catch((error: unknown) => {
    throw new Error(`--redis ${redactedUrl(url)}: ${error instanceof Error ? error.message : String(error)}`);
  });
  console.error(`lockstep: scaled out on ${redactedUrl(url)} (epoch ${scaleOut.eventLog.epoch}, run lease ${scaleOut.eventLog.leaseMs} ms, ${scaleOut.eventLog.retainBytesPerUser} bytes retained per user)`);
  return scaleOut;
}

/** The URL without its password, for logs. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}
