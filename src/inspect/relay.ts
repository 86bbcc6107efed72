/**
 * A loopback relay between lockstep's `@statelyai/inspect` WebSocket inspector and Stately's
 * inspector UI, so live inspection works without a hosted service carrying the event stream:
 *
 *   connection actors ──inspect──▶ WebSocket inspector ──ws──▶ relay (127.0.0.1) ──ws──▶ bridge page
 *                                                                                     └─postMessage─▶ stately.ai/inspect (iframe)
 *
 * The relay forwards every message from one client to every other client and keeps the last
 * `backlog` messages for a viewer that opens later. `GET /` serves the bridge page.
 *
 * Secure by default (inspection events carry connection contexts and frames):
 * - it binds loopback only (another host is refused with LOCKSTEP_ERR_INVALID_OPTION);
 * - two random per-run secrets: the source's (in `wsUrl`, never printed) and the viewers' (in
 *   the fragment of `pageUrl`, which browsers never send to a server or in a Referer);
 * - a viewer's upgrade must carry the viewers' secret and the Origin of the relay's own page;
 *   the source's must carry its secret and no Origin (a browser always sends one);
 * - the Host header must name the relay (no DNS rebinding);
 * - only the source can send: a viewer's messages are dropped, so nobody injects events.
 * Anything else gets HTTP 403 with the reason as the body, and no WebSocket.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { LockstepError } from '../protocol/errors.js';

export interface InspectorRelayOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** The inspector UI embedded by the bridge page. Default https://stately.ai/inspect. */
  inspectorUrl?: string;
  /** Messages kept for viewers that connect later. Default 1000. */
  backlog?: number;
  /** Bytes of messages kept for viewers that connect later. Default 16 MiB. */
  backlogBytes?: number;
}

/** Why the relay refused an upgrade (the 403 body). */
export const RelayRefusal = {
  HOST: 'inspector relay: Host header does not name this relay',
  SECRET: 'inspector relay: missing or wrong secret',
  ORIGIN: 'inspector relay: Origin is not the relay page',
} as const;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function sameSecret(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(socket: Socket, reason: string): void {
  socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\nConnection: close\r\n\r\n${reason}`);
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
  // before that are queued, then replayed in order. Messages go to the inspector's origin
  // only, and only its frame is listened to. The viewers' secret is the URL fragment.
  const inspectorOrigin = JSON.stringify(new URL(inspectorUrl).origin);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>lockstep — Stately inspector</title>
<style>html,body,iframe{margin:0;width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" title="Stately inspector" src="${inspectorUrl}"></iframe>
<script>
const frame = document.getElementById('inspector');
const queue = [];
let ready = false;
const origin = ${inspectorOrigin};
window.addEventListener('message', (event) => {
  if (event.source !== frame.contentWindow || event.origin !== origin) return;
  if (event.data && event.data.type === '@statelyai.connected' && !ready) {
    ready = true;
    for (const message of queue.splice(0)) frame.contentWindow.postMessage(message, origin);
  }
});
const secret = new URLSearchParams(location.hash.slice(1)).get('secret') || '';
const relay = new WebSocket('ws://' + location.host + '/?viewer=' + encodeURIComponent(secret));
relay.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (ready) frame.contentWindow.postMessage(message, origin);
  else queue.push(message);
};
</script></body></html>`;
}

export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', `inspector relay host must be loopback (127.0.0.1, ::1, localhost), got ${JSON.stringify(host)}: inspection events carry frames and contexts`);
  }
  const backlogSize = options.backlog ?? 1000;
  const backlogLimit = options.backlogBytes ?? 16 * 1024 * 1024;
  const page = bridgePage(options.inspectorUrl ?? 'https://stately.ai/inspect');
  const viewerSecret = randomBytes(24).toString('base64url');
  const sourceSecret = randomBytes(24).toString('base64url');
  const backlog: string[] = [];
  let backlogBytes = 0;
  const http: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?'))) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
      res.end(page);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  const wss = new WebSocketServer({ noServer: true });
  let port = 0;
  const authorize = (req: IncomingMessage): 'source' | 'viewer' | string => {
    const names = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
    if (!names.has(req.headers.host ?? '')) return RelayRefusal.HOST;
    const query = new URL(req.url ?? '/', 'http://relay').searchParams;
    const origin = req.headers.origin;
    if (sameSecret(query.get('source'), sourceSecret)) return origin === undefined ? 'source' : RelayRefusal.ORIGIN;
    if (!sameSecret(query.get('viewer'), viewerSecret)) return RelayRefusal.SECRET;
    return origin === `http://${req.headers.host}` ? 'viewer' : RelayRefusal.ORIGIN;
  };
  http.on('upgrade', (req, socket: Socket, head) => {
    const role = authorize(req);
    if (role !== 'source' && role !== 'viewer') {
      refuse(socket, role);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      if (role === 'viewer') {
        for (const message of backlog) ws.send(message);
        // Viewers only read: nothing they send is relayed.
        return;
      }
      ws.on('message', (data) => {
        const message = data.toString();
        backlog.push(message);
        backlogBytes += message.length;
        while (backlog.length > backlogSize || (backlogBytes > backlogLimit && backlog.length > 0)) backlogBytes -= backlog.shift()!.length;
        for (const client of wss.clients) {
          if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message);
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  const authority = host === '::1' ? `[::1]:${port}` : `${host}:${port}`;
  return {
    pageUrl: `http://${authority}/#secret=${viewerSecret}`,
    wsUrl: `ws://${authority}/?source=${sourceSecret}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}
