/**
 * GET /health (liveness), GET /ready (readiness) and GET /metrics (and the demo page when
 * enabled); other methods on these routes get 405 with `Allow`. Returns false for any other
 * request (embedders route it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionRegistry } from './connection-registry.js';
import type { ServerMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface HttpRouteDeps {
  registry: ConnectionRegistry;
  metrics: ServerMetrics;
  isShuttingDown: () => boolean;
  /** The bounded readiness probe behind GET /ready. */
  readiness: () => Promise<Readiness>;
  /** Serves the demo page's files (`GET /` …) when the server was created with `demoPage: true`. */
  demoPage?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
}

const OWN_ROUTES: ReadonlySet<string | undefined> = new Set(['/health', '/ready', '/metrics']);
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function createRequestHandler(deps: HttpRouteDeps) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!OWN_ROUTES.has(path)) return false;
      res.writeHead(405, Object.assign({}, JSON_HEADERS, { allow: 'GET, HEAD' }));
      res.end(JSON.stringify({ error: 'method not allowed', allow: ['GET', 'HEAD'] }));
      return true;
    }
    if (path === '/health') {
      const status = deps.isShuttingDown() ? 'shutting_down' : 'ok';
      const body = JSON.stringify({
        status,
        connections: { total: deps.registry.size, ...deps.registry.countByState() },
      });
      res.writeHead(status === 'ok' ? 200 : 503, JSON_HEADERS);
      res.end(body);
      return true;
    }
    if (path === '/ready') {
      void deps.readiness().then((readiness) => {
        if (res.destroyed) return;
        res.writeHead(readiness.ready ? 200 : 503, JSON_HEADERS);
        res.end(JSON.stringify(readiness.ready ? { status: 'ready' } : { status: 'not_ready', reason: readiness.reason }));
      });
      return true;
    }
    if (path === '/metrics') {
      Promise.all([deps.metrics.registry.metrics(), deps.metrics.processRegistry.metrics()]).then(
        ([own, process]) => {
          const text = `${own}\n${process}`;
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${String(error)}`);
        },
      );
      return true;
    }
    return deps.demoPage?.(req, res) ?? false;
  };
}
