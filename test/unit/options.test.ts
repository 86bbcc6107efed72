import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/server/options.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';

describe('resolveOptions', () => {
  it('takes defaults for absent or undefined limits', () => {
    expect(resolveOptions({ limits: { heartbeatMs: undefined, maxBadFrames: 3 } }).limits).toEqual({
      ...DEFAULT_CONNECTION_LIMITS,
      maxBadFrames: 3,
    });
  });

  it.each([
    [{ limits: { heartbeatMs: 0 } }, /limits.heartbeatMs must be a positive integer/],
    [{ limits: { heartbeat: 5 } as never }, /limits.heartbeat is not a known limit/],
    [{ maxPayload: 1.5 }, /maxPayload/],
    [{ drainMs: -1 }, /drainMs/],
    [{ paths: ['ws'] }, /paths/],
  ])('refuses %j with LOCKSTEP_ERR_INVALID_OPTION', (options, message) => {
    expect(() => resolveOptions(options)).toThrow(message);
    try {
      resolveOptions(options);
    } catch (error) {
      expect((error as { code: string }).code).toBe('LOCKSTEP_ERR_INVALID_OPTION');
    }
  });
});
