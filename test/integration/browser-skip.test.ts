/**
 * The browser tests without Chromium, run as a real vitest process: on a developer machine
 * they skip with the install line; in CI (env CI set) they fail — as the Redis tests do.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

/** vitest on the browser test file with Chromium pointed at a path that does not exist. */
function browserTests(ci: string | undefined): Promise<{ code: number; output: string }> {
  // The child is a fresh vitest, not a worker of this one, and decides CI for itself.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'CI' && key !== 'NODE_OPTIONS'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [vitest, 'run', 'test/browser/demo-page.test.ts'],
      { cwd: repo, env: { ...env, LOCKSTEP_CHROMIUM: '/nonexistent/chromium', ...(ci === undefined ? {} : { CI: ci }) }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: stdout + stderr }),
    );
  });
}

const INSTALL_LINE = 'Install the Debian package: apt-get install -y chromium';

describe('browser tests without Chromium', () => {
  it('skip with the install line outside CI, and fail with it under CI=1', async () => {
    // CI=true takes the same path: any non-empty CI counts, as in the Redis harness.
    const [local, ci1] = await Promise.all([browserTests(undefined), browserTests('1')]);
    expect(local.code, local.output).toBe(0);
    expect(local.output).toContain(`SKIPPED: Chromium is not installed at /nonexistent/chromium`);
    expect(local.output).toContain(INSTALL_LINE);
    expect(local.output).toMatch(/skipped/i);
    for (const ci of [ci1]) {
      expect(ci.code, ci.output).toBe(1);
      expect(ci.output).toContain(INSTALL_LINE);
      expect(ci.output).not.toContain('SKIPPED:');
    }
  }, 90_000);
});
