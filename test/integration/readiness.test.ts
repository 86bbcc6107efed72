/**
 * Issue 14 item 12: /health is liveness, /ready is readiness — 503 with a reason while the
 * backend is not ready (pending or rejected, probed with a bound), the scale-out backend does
 * not answer, or the server drains; 200 otherwise. 405 with Allow for other methods on
 * /health, /ready and /metrics. Real HTTP on loopback, and a real `lockstep serve`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { ScaleOut } from '../../src/delivery/scale-out.js';
import { READY_PROBE_MS } from '../../src/server/readiness.js';
import { ServeProcess, within } from '../attack/attack-harness.js';
import { TestClient } from './client.js';
import { deferred, startServer, type Harness } from './harness.js';

async function ready(httpUrl: string): Promise<{ status: number; body: unknown }> {
  const response = await within(fetch(`${httpUrl}/ready`), 5_000, 'the /ready response');
  return { status: response.status, body: await response.json() };
}

/** A scale-out over an in-memory log whose availability the test decides. */
function scaleOutWith(available: () => Promise<void>): ScaleOut {
  return {
    eventLog: new MemoryEventLog(),
    fanout: { subscribe: () => {}, unsubscribe: () => {}, onEvent: () => {}, onResync: () => {} },
    available,
    start: () => {},
  };
}

describe('GET /ready (in-process, a ready() the test controls)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
  });

  it('503 backend_not_ready within the probe bound while ready() is pending, 200 once it resolves; /health stays 200', async () => {
    const warmUp = deferred();
    h = await startServer({ ready: () => warmUp.promise });
    const started = Date.now();
    expect(await ready(h.httpUrl)).toEqual({ status: 503, body: { status: 'not_ready', reason: 'backend_not_ready' } });
    expect(Date.now() - started).toBeLessThan(READY_PROBE_MS + 1_000);
    expect((await fetch(`${h.httpUrl}/health`)).status).toBe(200);
    warmUp.resolve();
    expect(await ready(h.httpUrl)).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('503 backend_failed while ready() rejects', async () => {
    h = await startServer({ ready: () => Promise.reject(new Error('down')) });
    expect(await ready(h.httpUrl)).toEqual({ status: 503, body: { status: 'not_ready', reason: 'backend_failed' } });
  });

  it('503 scale_out_unavailable while scaleOut.available() rejects or does not answer', async () => {
    h = await startServer({ scaleOut: scaleOutWith(() => Promise.reject(new Error('redis down'))) });
    expect((await ready(h.httpUrl)).body).toEqual({ status: 'not_ready', reason: 'scale_out_unavailable' });
    await h.server.close();
    h = await startServer({ scaleOut: scaleOutWith(() => new Promise(() => {})) });
    expect((await ready(h.httpUrl)).body).toEqual({ status: 'not_ready', reason: 'scale_out_unavailable' });
  });

  it('503 draining during close()', async () => {
    const gate = deferred();
    h = await startServer({ drainMs: 5_000, handler: async (_m, run) => { await gate.promise; run.complete({}); } });
    const client = new TestClient(h.url, { protocols: ['lockstep.v1', 'lockstep.bearer.alice'] });
    await client.untilType('ready');
    client.send({ type: 'message', id: 'm1', text: 'hold the drain' });
    await client.untilType('ack');
    const closing = h.server.close();
    expect(await ready(h.httpUrl)).toEqual({ status: 503, body: { status: 'not_ready', reason: 'draining' } });
    gate.resolve();
    await closing;
    h = undefined;
  });

  it('405 with Allow: GET, HEAD for other methods on /health, /ready, /metrics; HEAD answers', async () => {
    h = await startServer();
    for (const path of ['/health', '/ready', '/metrics']) {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const response = await fetch(`${h.httpUrl}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
      }
      expect((await fetch(`${h.httpUrl}${path}`, { method: 'HEAD' })).status).toBe(200);
    }
    expect((await fetch(`${h.httpUrl}/elsewhere`, { method: 'POST' })).status).toBe(404);
  });
});

describe('GET /ready on a real lockstep serve', () => {
  let serve: ServeProcess | undefined;
  afterEach(async () => {
    await serve?.kill();
    serve = undefined;
  });

  it('--backend-delay-ms: 503 during warm-up, 200 after; /health 200 throughout', async () => {
    serve = await ServeProcess.start(['--backend-delay-ms', '1500']);
    expect(await ready(serve.httpUrl)).toEqual({ status: 503, body: { status: 'not_ready', reason: 'backend_not_ready' } });
    expect((await fetch(`${serve.httpUrl}/health`)).status).toBe(200);
    const httpUrl = serve.httpUrl;
    await within((async () => {
      while ((await ready(httpUrl)).status !== 200) { /* each probe waits up to READY_PROBE_MS */ }
    })(), 10_000, '/ready to turn 200 after the warm-up');
  });

  it('--backend-fail: 503 backend_failed', async () => {
    serve = await ServeProcess.start(['--backend-fail']);
    expect(await ready(serve.httpUrl)).toEqual({ status: 503, body: { status: 'not_ready', reason: 'backend_failed' } });
    expect((await fetch(`${serve.httpUrl}/health`)).status).toBe(200);
  });
});
