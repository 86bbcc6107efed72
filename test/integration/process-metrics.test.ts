/**
 * Process metrics are collected once per process and shared: collecting them per server
 * installed GC and event-loop observers that were never removed (a leak of ~90 KB per server
 * that slowed every GC). /metrics still serves both the server's and the process's metrics.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type Harness } from './harness.js';

describe('/metrics', () => {
  const started: Harness[] = [];
  afterAll(async () => {
    for (const h of started) await h.server.close();
  });

  it('serves the server’s metrics and the process metrics, collected once for every server', async () => {
    started.push(await startServer(), await startServer());
    const [a, b] = started as [Harness, Harness];
    expect(a.server.metrics.processRegistry).toBe(b.server.metrics.processRegistry);
    expect(a.server.metrics.registry).not.toBe(b.server.metrics.registry);
    const text = await (await fetch(`${a.httpUrl}/metrics`)).text();
    expect(text).toContain('lockstep_connections{state="ready"} 0');
    expect(text).toContain('lockstep_process_process_cpu_user_seconds_total');
  });
});
