import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // `npm run fuzz` sets FC_NUM_RUNS: long campaigns must not hit the per-test timeout.
    testTimeout: process.env.FC_NUM_RUNS === undefined ? 30_000 : 3_600_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets on ephemeral loopback ports; files run in parallel
    // workers, which is safe because every server binds port 0.
    pool: 'forks',
    setupFiles: ['test/setup/fast-check.ts'],
  },
});
