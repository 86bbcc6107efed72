import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/server/options.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';

describe('resolveOptions', () => {
  it('takes defaults for absent or undefined limits', () => {
    expect(resolveOptions({ auth: 'dev', limits: { heartbeatMs: undefined, maxBadFrames: 3 } }).limits).toEqual({
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
    expect(() => resolveOptions({ auth: 'dev', ...options })).toThrow(message);
    try {
      resolveOptions({ auth: 'dev', ...options });
    } catch (error) {
      expect((error as { code: string }).code).toBe('LOCKSTEP_ERR_INVALID_OPTION');
    }
  });
});

describe('token check (fail closed)', () => {
  const saved = process.env.LOCKSTEP_JWT_SECRET;
  const withoutEnvSecret = <T>(body: () => T): T => {
    delete process.env.LOCKSTEP_JWT_SECRET;
    try {
      return body();
    } finally {
      if (saved !== undefined) process.env.LOCKSTEP_JWT_SECRET = saved;
    }
  };

  it('refuses to start with no token check named (LOCKSTEP_ERR_AUTH_REQUIRED)', () => {
    withoutEnvSecret(() => {
      expect(() => resolveOptions({})).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_AUTH_REQUIRED' }));
      expect(() => resolveOptions({ handler: async () => {} })).toThrow(/auth: 'dev'/);
    });
  });

  it('treats an empty jwtSecret as invalid, never as dev tokens', () => {
    withoutEnvSecret(() => {
      expect(() => resolveOptions({ jwtSecret: '' })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION' }));
    });
  });

  it("turns dev tokens on only when named (auth: 'dev')", () => {
    withoutEnvSecret(() => {
      expect(resolveOptions({ auth: 'dev' }).devTokens).toBe(true);
      expect(resolveOptions({ jwtSecret: 's3cret' }).devTokens).toBe(false);
      expect(resolveOptions({ verifyToken: async () => ({ userId: 'u' }) }).devTokens).toBe(false);
    });
  });

  it('refuses two ways at once and unknown auth modes', () => {
    expect(() => resolveOptions({ auth: 'dev', jwtSecret: 'x' })).toThrow(/one way to check tokens/);
    expect(() => resolveOptions({ auth: 'none' as never })).toThrow(/auth must be 'dev'/);
  });
});
