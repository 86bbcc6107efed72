/**
 * A loopback relay between lockstep's `@statelyai/inspect` WebSocket inspector and Stately's
 * inspector UI, so live inspection works without a hosted service carrying the event stream:
 *
 *   connection actors ──inspect──▶ WebSocket inspector ──ws──▶ relay (127.0.0.1) ──ws──▶ bridge page
 *                                                                                     └─postMessage─▶ stately.ai/inspect (iframe)
 *
 * The relay forwards every message from one client to every other client and keeps the last
 * `backlog` messages for a viewer that opens later. `GET /` serves the bridge page. Only
 * loopback: inspection events carry connection contexts and frames.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

export interface InspectorRelayOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** The inspector UI embedded by the bridge page. Default https://stately.ai/inspect. */
  inspectorUrl?: string;
  /** Messages kept for viewers that connect later. Default 1000. */
  backlog?: number;
}

export interface InspectorRelay {
  /** The bridge page to open in a browser. */
  readonly pageUrl: string;
  /** Where the WebSocket inspector sends its events. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

function bridgePage(inspectorUrl: string): string {
  // The inspector UI announces itself with `@statelyai.connected`; messages that arrive
  // before that are queued, then replayed in order.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lockstep — Stately inspector</title>
<style>html,body,iframe{margin:0;width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" title="Stately inspector" src="${inspectorUrl}"></iframe>
<script>
const frame = document.getElementById('inspector');
const queue = [];
let ready = false;
window.addEventListener('message', (event) => {
  if (event.data && event.data.type === '@statelyai.connected' && !ready) {
    ready = true;
    for (const message of queue.splice(0)) frame.contentWindow.postMessage(message, '*');
  }
});
const relay = new WebSocket('ws://' + location.host + '/');
relay.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (ready) frame.contentWindow.postMessage(message, '*');
  else queue.push(message);
};
</script></body></html>`;
}

export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  const host = options.host ?? '127.0.0.1';
  const backlogSize = options.backlog ?? 1000;
  const page = bridgePage(options.inspectorUrl ?? 'https://stately.ai/inspect');
  const backlog: string[] = [];
  const http: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?'))) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => {
    for (const message of backlog) ws.send(message);
    ws.on('message', (data) => {
      const message = data.toString();
      backlog.push(message);
      if (backlog.length > backlogSize) backlog.shift();
      for (const client of wss.clients) {
        if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message);
      }
    });
    ws.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    pageUrl: `http://${host}:${port}/`,
    wsUrl: `ws://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}
