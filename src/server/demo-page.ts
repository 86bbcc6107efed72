/**
 * The demo chat page (`GET /` under `lockstep serve`): static files from the package's
 * `public/` folder, the browser bundle of `lockstep/client` (dist/browser/, built by
 * scripts/build-client-bundle.mjs in `npm run build`), and the generated client and
 * connection charts from `visualizations/`. Files are
 * found relative to the package root, so the page works from the sources (tests) and from
 * an installed package (dist/) alike, and are read once, on first request.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUTES: Record<string, { file: string; type: string }> = {
  '/': { file: 'public/index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'public/index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'public/style.css', type: 'text/css; charset=utf-8' },
  '/app.js': { file: 'public/app.js', type: 'text/javascript; charset=utf-8' },
  '/lockstep-client.js': { file: 'dist/browser/lockstep-client.js', type: 'text/javascript; charset=utf-8' },
  '/client.svg': { file: 'visualizations/client.svg', type: 'image/svg+xml' },
  '/connection.svg': { file: 'visualizations/connection.svg', type: 'image/svg+xml' },
};

/** The directory holding public/index.html, walking up from this file (src/server or dist/src/server). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'public', 'index.html')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('lockstep demo page: public/index.html not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

// The inline SVG carries its own <style>; the page has no inline script.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** `packageDir`: where public/, dist/ and visualizations/ are (default: the package this file is in). */
export function createDemoPageHandler(packageDir?: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const cache = new Map<string, Buffer>();
  let root: string | undefined = packageDir;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = ROUTES[path];
    if (!route) return false;
    root ??= packageRoot();
    let body = cache.get(route.file);
    if (body === undefined) {
      const file = join(root, route.file);
      if (!existsSync(file)) {
        // Only the bundle can be missing (a checkout that was not built): say how to make it.
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
        res.end(`lockstep demo page: ${route.file} is missing; run npm run build\n`);
        return true;
      }
      body = readFileSync(file);
      cache.set(route.file, body);
    }
    res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
