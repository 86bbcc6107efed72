import { describe, expect, it } from 'vitest';
import { resolveOptions, SERVER_OPTION_KEYS } from '../../src/server/options.js';
import type { LockstepError } from '../../src/protocol/errors.js';
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

describe('every option checked at construction (issue 14 item 10)', () => {
  const refused = (options: Record<string, unknown>): LockstepError => {
    try {
      resolveOptions({ auth: 'dev', ...options } as never);
    } catch (error) {
      return error as LockstepError;
    }
    throw new Error(`accepted ${JSON.stringify(options)}`);
  };

  it.each([
    [{ handlr: async () => {} }, /handlr is not a lockstep server option \(known: server, host, port/],
    [{ port: 'abc' }, /port must be an integer port 0–65535 .*got "abc" \(string\)/],
    [{ port: 70000 }, /port must be .*got 70000 \(number\)/],
    [{ host: '' }, /host must be a non-empty/],
    [{ allowedOrigins: 'https://x' }, /allowedOrigins must be an array of Origin strings .*got "https:\/\/x" \(string\)/],
    [{ handler: 'nope' }, /handler must be a function .*got "nope" \(string\)/],
    [{ ready: true }, /ready must be a function/],
    [{ paths: '/ws' }, /paths must be a non-empty array/],
    [{ paths: [] }, /paths must be a non-empty array/],
    [{ logger: console.log }, /logger must be a logger with info, warn and error/],
    [{ server: {} }, /server must be an http.Server/],
    [{ eventLog: {} }, /eventLog must be an EventLog/],
    [{ scaleOut: 'redis://x' }, /scaleOut must be a ScaleOut/],
    [{ limits: 5 }, /limits must be an object/],
    [{ demoPage: 'yes' }, /demoPage must be a boolean/],
    [{ trustProxy: 1 }, /trustProxy must be a boolean/],
    [{ onTrace: {} }, /onTrace must be a function/],
    [{ clock: {} }, /clock must be a Clock/],
    [{ maxConnections: 0 }, /maxConnections must be a positive integer, got 0 \(number\)/],
    [{ maxConnectionsPerAddress: '5' }, /maxConnectionsPerAddress must be a positive integer, got "5" \(string\)/],
    [{ closeGraceMs: -1 }, /closeGraceMs must be a positive integer/],
    [{ drainMs: '10' }, /drainMs must be a positive integer, got "10" \(string\)/],
  ])('refuses %j naming the option, the value and what is expected', (options, message) => {
    const error = refused(options);
    expect(error.code).toBe('LOCKSTEP_ERR_INVALID_OPTION');
    expect(error.message).toMatch(message);
  });

  it('refuses a non-object', () => {
    expect(() => resolveOptions('x' as never)).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION' }));
  });

  it('takes undefined as the default, accepts jwt as a known key (validated by auth), and gives the cap defaults', () => {
    const resolved = resolveOptions({ auth: 'dev', port: undefined, handler: undefined, jwt: undefined } as never);
    expect(resolved.port).toBe(8080);
    expect(SERVER_OPTION_KEYS).toContain('jwt');
    expect(resolved).toMatchObject({ maxConnections: 10_000, maxConnectionsPerAddress: 256, trustProxy: false, closeGraceMs: 5_000 });
  });
});
