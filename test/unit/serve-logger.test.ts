import { describe, expect, it } from 'vitest';
import { resolveLogLevel } from '../../src/cli/serve-logger.js';

describe('lockstep serve log level', () => {
  it('defaults to info, takes LOCKSTEP_LOG_LEVEL, and lets --log-level win', () => {
    expect(resolveLogLevel(undefined, undefined)).toBe('info');
    expect(resolveLogLevel(undefined, 'debug')).toBe('debug');
    expect(resolveLogLevel('warn', 'debug')).toBe('warn');
    expect(resolveLogLevel('silent', undefined)).toBe('silent');
  });

  it('refuses an unknown level, naming its source and the known levels', () => {
    expect(() => resolveLogLevel('loud', undefined)).toThrow('--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"');
    expect(() => resolveLogLevel(undefined, 'verbose')).toThrow('LOCKSTEP_LOG_LEVEL must be one of');
  });
});
