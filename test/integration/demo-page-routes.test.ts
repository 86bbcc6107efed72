import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClientBundle } from '../../scripts/build-client-bundle.mjs';
import { createDemoPageHandler } from '../../src/server/demo-page.js';
import { startServer, type Harness } from './harness.js';

describe('demo page routes', () => {
  let harness: Harness | undefined;
  afterEach(async () => harness?.server.close());

  it('are off by default: GET / is a 404 like any unknown path', async () => {
    harness = await startServer();
    const response = await fetch(`${harness.httpUrl}/`);
    expect(response.status).toBe(404);
  });

  it('serve the page, its scripts (the client as one browser bundle) and the generated charts with demoPage: true', async () => {
    await buildClientBundle();
    harness = await startServer({ demoPage: true });
    const page = await fetch(`${harness.httpUrl}/?user=alice`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js"></script>');
    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/lockstep-client.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/client.svg', 'image/svg+xml'],
      ['/connection.svg', 'image/svg+xml'],
    ] as const) {
      const response = await fetch(`${harness.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
    }
    const svg = await (await fetch(`${harness.httpUrl}/connection.svg`)).text();
    expect(svg).toBe(readFileSync(new URL('../../visualizations/connection.svg', import.meta.url), 'utf8'));
    // The page imports the client from the bundle, which imports nothing itself.
    expect(await (await fetch(`${harness.httpUrl}/app.js`)).text()).toContain("from './lockstep-client.js'");
    const bundle = await (await fetch(`${harness.httpUrl}/lockstep-client.js`)).text();
    expect(bundle).toContain('createLockstepClient');
    expect(bundle.match(/^import\b|[;}]import\s*[{*\w]/gm) ?? []).toEqual([]);
    expect((await fetch(`${harness.httpUrl}/backoff.js`)).status).toBe(404);
    // Health and metrics keep their routes; other paths stay 404.
    expect((await fetch(`${harness.httpUrl}/health`)).status).toBe(200);
    expect((await fetch(`${harness.httpUrl}/public/app.js`)).status).toBe(404);
    expect((await fetch(`${harness.httpUrl}/../package.json`)).status).toBe(404);
  });

  it('a package root without the bundle (not built) answers 503 naming npm run build, not a crash', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lockstep-unbuilt-'));
    try {
      const handler = createDemoPageHandler(root);
      expect(existsSync(join(root, 'dist'))).toBe(false);
      const { createServer } = await import('node:http');
      const server = createServer((req, res) => void (handler(req, res) || res.writeHead(404).end()));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/lockstep-client.js`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('dist/browser/lockstep-client.js is missing; run npm run build');
      await new Promise((resolve) => server.close(resolve));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
