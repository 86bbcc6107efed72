/**
 * The global connection cap (503) and the per-remote-address cap (429), refused before the
 * upgrade, counted on real TCP sockets until they close; with trustProxy the last
 * X-Forwarded-For entry is the remote address. Refusals are counted in
 * lockstep_upgrades_refused_total{status,reason}.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { within } from '../attack/attack-harness.js';
import { TestClient } from './client.js';
import { deferred, startServer, type Harness } from './harness.js';

/** Resolves with the HTTP status of a refused upgrade, or 101 once the socket opened. */
function upgradeStatus(url: string, user: string, headers: Record<string, string> = {}): Promise<{ status: number; ws: WebSocket }> {
  const ws = new WebSocket(url, ['lockstep.v1', `lockstep.bearer.${user}`], { headers });
  ws.on('error', () => {});
  return within(new Promise((resolve) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve({ status: res.statusCode ?? 0, ws });
    });
  }), 5_000, `the upgrade answer for ${user}`);
}

async function refusals(h: Harness): Promise<string> {
  return h.server.metrics.registry.getSingleMetricAsString('lockstep_upgrades_refused_total');
}

describe('connection caps', () => {
  let h: Harness | undefined;
  const open: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    await h?.server.close();
    h = undefined;
  });

  it('maxConnectionsPerAddress: the next upgrade from that address gets 429; a closed socket frees its place', async () => {
    // The actor closes on ws's socket 'close', after the admission's own listener freed the place.
    const actorClosed = deferred();
    const logger = { info: (_o: object, msg?: string) => { if (msg === 'connection closed') actorClosed.resolve(); }, warn() {}, error() {} };
    h = await startServer({ maxConnectionsPerAddress: 2, logger });
    for (const user of ['a', 'b']) {
      const { status, ws } = await upgradeStatus(h.url, user);
      expect(status).toBe(101);
      open.push(ws);
    }
    expect((await upgradeStatus(h.url, 'c')).status).toBe(429);
    expect(await refusals(h)).toContain('lockstep_upgrades_refused_total{status="429",reason="max_connections_per_address"} 1');
    open[0]!.close();
    await within(actorClosed.promise, 5_000, 'the server to close the first connection');
    const after = await within((async () => {
      const client = new TestClient(h!.url, { protocols: ['lockstep.v1', 'lockstep.bearer.d'] });
      await client.untilType('ready');
      return client;
    })(), 5_000, 'an upgrade after a place was freed');
    await after.close();
  });

  it('maxConnections: the next upgrade gets 503 whatever its address', async () => {
    h = await startServer({ maxConnections: 1 });
    const first = await upgradeStatus(h.url, 'a');
    expect(first.status).toBe(101);
    open.push(first.ws);
    expect((await upgradeStatus(h.url, 'b')).status).toBe(503);
    expect(await refusals(h)).toContain('reason="max_connections"} 1');
  });

  it('trustProxy: the last X-Forwarded-For entry is the address counted; without it the header is ignored', async () => {
    h = await startServer({ maxConnectionsPerAddress: 1, trustProxy: true });
    const a = await upgradeStatus(h.url, 'a', { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' });
    const b = await upgradeStatus(h.url, 'b', { 'x-forwarded-for': '198.51.100.9, 203.0.113.2' });
    open.push(a.ws, b.ws);
    expect([a.status, b.status]).toEqual([101, 101]);
    expect((await upgradeStatus(h.url, 'c', { 'x-forwarded-for': '203.0.113.1' })).status).toBe(429);
    await h.server.close();

    h = await startServer({ maxConnectionsPerAddress: 1 });
    const c = await upgradeStatus(h.url, 'c', { 'x-forwarded-for': '203.0.113.3' });
    open.push(c.ws);
    expect(c.status).toBe(101);
    expect((await upgradeStatus(h.url, 'd', { 'x-forwarded-for': '203.0.113.4' })).status).toBe(429);
  });
});
