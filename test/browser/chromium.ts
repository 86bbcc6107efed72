/**
 * Debian's Chromium driven by playwright-core: headless, no sandbox (CI runs as root), no
 * network beyond loopback, a fresh profile per launch. `.ci/run` installs /usr/bin/chromium.
 *
 * Without Chromium: in CI (env CI set, as `.ci/run` does) the browser tests FAIL; on a
 * developer machine they are skipped with a loud message naming the Debian package — as the
 * Redis tests do (test/integration/redis/redis-harness.ts).
 */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { describe } from 'vitest';

export const CHROMIUM = process.env.LOCKSTEP_CHROMIUM ?? '/usr/bin/chromium';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const chromiumInstalled = executable(CHROMIUM);

const MISSING = `Chromium is not installed at ${CHROMIUM}: the browser tests need it. Install the Debian package: apt-get install -y chromium (or point LOCKSTEP_CHROMIUM at a Chromium binary)`;

/**
 * describe() for tests that need Chromium. In CI it is plain describe: `launchBrowser` then
 * throws the message above in beforeAll and every test fails. Elsewhere it skips, loudly.
 */
export const describeWithChromium: typeof describe = (() => {
  if (chromiumInstalled || process.env.CI) return describe;
  console.error(`\n${'!'.repeat(100)}\n!!! SKIPPED: ${MISSING}\n${'!'.repeat(100)}\n`);
  return describe.skip as unknown as typeof describe;
})();

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots and rendered charts land here (gitignored); CI can keep them. */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return new URL(name, ARTIFACTS).pathname;
}

export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!chromiumInstalled) throw new Error(MISSING);
  const profile = mkdtempSync(join(tmpdir(), 'lockstep-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
