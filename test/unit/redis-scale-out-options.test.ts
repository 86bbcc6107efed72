import { describe, expect, it } from 'vitest';
import { createRedisScaleOut } from '../../src/delivery/redis-scale-out.js';

describe('createRedisScaleOut options', () => {
  it.each([
    ['leaseMs', 0], ['retainMs', -1], ['retainEvents', 1.5],
    ['retainBytesPerUser', 0], ['retainMessageIds', -3], ['retainMessageBytesPerUser', 0.5], ['retainMessageIdsTotal', 0],
  ] as const)(
    'refuses %s = %s before connecting, with LOCKSTEP_ERR_INVALID_OPTION',
    async (name, value) => {
      const creating = createRedisScaleOut('redis://127.0.0.1:1', { [name]: value });
      await expect(creating).rejects.toMatchObject({ code: 'LOCKSTEP_ERR_INVALID_OPTION' });
      await expect(creating).rejects.toThrow(`${name} must be a positive integer`);
    },
  );
});
