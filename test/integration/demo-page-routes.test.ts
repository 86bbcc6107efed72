import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startServer, type Harness } from './harness.js';

describe('demo page routes', () => {
  let harness: Harness | undefined;
  afterEach(async () => harness?.server.close());

  it('are off by default: GET / is a 404 like any unknown path', async () => {
    harness = await startServer();
    const response = await fetch(`${harness.httpUrl}/`);
    expect(response.status).toBe(404);
  });

  it('serve the page, its scripts and the generated chart with demoPage: true', async () => {
    harness = await startServer({ demoPage: true });
    const page = await fetch(`${harness.httpUrl}/?user=alice`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js"></script>');
    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/lockstep-client.js', 'text/javascript; charset=utf-8'],
      ['/backoff.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/connection.svg', 'image/svg+xml'],
    ] as const) {
      const response = await fetch(`${harness.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
    }
    const svg = await (await fetch(`${harness.httpUrl}/connection.svg`)).text();
    expect(svg).toBe(readFileSync(new URL('../../visualizations/connection.svg', import.meta.url), 'utf8'));
    // Health and metrics keep their routes; other paths stay 404.
    expect((await fetch(`${harness.httpUrl}/health`)).status).toBe(200);
    expect((await fetch(`${harness.httpUrl}/public/app.js`)).status).toBe(404);
    expect((await fetch(`${harness.httpUrl}/../package.json`)).status).toBe(404);
  });
});
