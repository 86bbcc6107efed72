/**
 * The benchmark harness works end to end (quick mode, one scenario, two targets): separate
 * server and load processes, a report and raw figures written, no frame lost or reordered.
 * No timing is asserted — performance is what `npm run bench` measures, not what tests check.
 * Runs against dist/ (built by `npm ci` / `npm run build`), as `npm run bench` does.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('bench harness (quick mode)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('measures lockstep and raw ws throughput in separate processes, the XState floors, and writes the report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-bench-'));
    dirs.push(dir);
    const out = join(dir, 'results.md');
    await run(process.execPath, ['bench/run.mjs', '--quick', '--only', 'throughput,floors', '--impls', 'lockstep,ws', '--scale', '0.25', '--out', out], {
      timeout: 60_000,
    });
    const raw = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
    expect(raw.failures).toEqual([]);
    for (const impl of ['lockstep', 'ws']) {
      const [figures] = raw.results.throughput[impl];
      expect(figures.violations).toBe(0);
      expect(figures.msgsPerSec).toBeGreaterThan(0);
      expect(figures.cpuPerMsgMicros).toBeGreaterThan(0);
      expect(figures.clientCpuPerMsgMicros).toBeGreaterThan(0);
    }
    // floors.mjs throws (a failed job) if a connection actor did not reach `closed`.
    const [floors] = raw.results.floors.lockstep;
    for (const key of ['flatEventMicros', 'streamEventMicros', 'machinePerMessageMicros', 'machineLifecycleMicros']) {
      expect(floors[key]).toBeGreaterThan(0);
    }
    const report = await readFile(out, 'utf8');
    expect(report).toContain('| throughput (round trips/s) |');
    expect(report).toContain('lockstep / raw ws');
    expect(report).toContain('| floor: the connection machine + run handle per message, no sockets (µs) |');
  }, 90_000);
});
