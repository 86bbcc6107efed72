/**
 * The logger of `lockstep serve`: pino, one JSON line per entry on stderr (stdout keeps the
 * single "listening on" line scripts read). Level from `--log-level`, else
 * `LOCKSTEP_LOG_LEVEL`, else `info`.
 */
import { pino } from 'pino';
import type { Logger } from '../server/logger.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The flag wins over the environment; an unknown level is an error that lists the known ones. */
export function resolveLogLevel(flag: string | undefined, env: string | undefined): LogLevel {
  const [source, raw] = flag !== undefined ? ['--log-level', flag] : ['LOCKSTEP_LOG_LEVEL', env ?? 'info'];
  if (!isLogLevel(raw)) throw new Error(`${source} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw;
}

/** Synchronous writes: the lines logged during shutdown are on stderr before `process.exit`. */
export function createServeLogger(level: LogLevel, fd = 2): Logger & { level: string } {
  return pino({ level, base: { name: 'lockstep', pid: process.pid } }, pino.destination({ fd, sync: true }));
}
