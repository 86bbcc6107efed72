/**
 * A real AG-UI agent for the tests: an HTTP server on loopback that answers a POSTed
 * RunAgentInput with an SSE stream written by @ag-ui/encoder (the encoder AG-UI's own
 * TypeScript servers use). What it streams is a script chosen per request; a script can also
 * write raw bytes (malformed streams), answer another status, or hold the stream open until
 * the test releases it or the client goes away (cancel).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEncoder } from '@ag-ui/encoder';
import type { BaseEvent } from '@ag-ui/core';

/** One step of a script: an event (encoded by EventEncoder), raw bytes, or a wait. */
export type Step = { event: Record<string, unknown> } | { raw: string } | { hold: Promise<void> };

/** What the agent does for one request. */
export interface Script {
  status?: number;
  contentType?: string;
  steps: Step[];
  /** Leave the response open after the last step (until the client goes away). */
  keepOpen?: boolean;
}

/** A request the agent received: its headers, its body, and whether the client went away before the end. */
export interface ReceivedRun {
  headers: IncomingMessage['headers'];
  input: { threadId: string; runId: string; messages: Array<{ id: string; role: string; content: string }>; forwardedProps: unknown; state: unknown; tools: unknown[]; context: unknown[] };
  /** Resolves when the client closed the connection before the agent ended the response. */
  clientGone: Promise<void>;
}

export interface AgentServer {
  url: string;
  runs: ReceivedRun[];
  close(): Promise<void>;
}

export const ev = (type: string, fields: Record<string, unknown> = {}): Step => ({ event: { type, ...fields } });

/** Starts the agent; `script(input)` decides each run's stream. */
export async function startAgentServer(script: (input: ReceivedRun['input']) => Script): Promise<AgentServer> {
  const runs: ReceivedRun[] = [];
  const encoder = new EventEncoder();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const input = JSON.parse(body) as ReceivedRun['input'];
      let ended = false;
      const clientGone = new Promise<void>((resolve) => res.once('close', () => !ended && resolve()));
      runs.push({ headers: req.headers, input, clientGone });
      const plan = script(input);
      res.writeHead(plan.status ?? 200, { 'content-type': plan.contentType ?? encoder.getContentType(), 'cache-control': 'no-cache' });
      void (async () => {
        for (const step of plan.steps) {
          if (res.destroyed) return;
          if ('hold' in step) await step.hold;
          else res.write('raw' in step ? step.raw : encoder.encodeSSE(step.event as BaseEvent));
        }
        if (plan.keepOpen) return;
        ended = true;
        res.end();
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/agent`,
    runs,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
