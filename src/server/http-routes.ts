/** GET /health and GET /metrics (and the demo page when enabled). Returns false for any other request (embedders route it). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionRegistry } from './connection-registry.js';
import type { ServerMetrics } from './metrics.js';

export interface HttpRouteDeps {
  registry: ConnectionRegistry;
  metrics: ServerMetrics;
  isShuttingDown: () => boolean;
  /** Serves the demo page's files (`GET /` …) when the server was created with `demoPage: true`. */
  demoPage?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
}

export function createRequestHandler(deps: HttpRouteDeps) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/health') {
      const status = deps.isShuttingDown() ? 'shutting_down' : 'ok';
      const body = JSON.stringify({
        status,
        connections: { total: deps.registry.size, ...deps.registry.countByState() },
      });
      res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body);
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
