import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets on ephemeral loopback ports; files run in parallel
    // workers, which is safe because every server binds port 0.
    pool: 'forks',
    setupFiles: ['test/setup/fast-check.ts'],
  },
});
