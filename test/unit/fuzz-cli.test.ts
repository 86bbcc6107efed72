/** `lockstep fuzz` on the built CLI: it runs every property and reports what it explored. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fuzzInvariants } from '../../src/testing/fuzz.js';
import { fuzz } from '../../src/cli/fuzz.js';

const run = promisify(execFile);

describe('lockstep fuzz', () => {
  it('the built CLI runs the properties and the exploration, and prints runs, rates and states', async () => {
    const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', 'fuzz', '--runs', '100', '--seed', '7', '--depth', '1']);
    expect(stdout).toContain('seed 7, 100 runs per property');
    expect(stdout.match(/^ {2}ok /gm)).toHaveLength(5);
    expect(stdout).toMatch(/interleavings\/s \(connection scenarios\): \d+/);
    expect(stdout).toMatch(/distinct connection states seen: \d+/);
    expect(stdout).toMatch(/exploration, every sequence of up to 1 command: \d+ sequences \(interleavings\), \d+\/s/);
    expect(stdout).toMatch(/distinct states \(snapshot, timers, harness\): \d+, \d+\/s/);
  });

  it('--depth 0 skips the exploration', async () => {
    const report = await fuzzInvariants({ runs: 10, seed: 1, depth: 0 });
    expect(report.exploration).toBeUndefined();
    expect(report.outcomes).toHaveLength(4);
  });

  it('rejects a bad option with a clear message', async () => {
    await expect(run(process.execPath, ['dist/src/cli/main.js', 'fuzz', '--runs', 'many'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--runs must be a positive number, got "many"'),
    });
    // The same path in-process (the CLI turns the error into exit code 2, as above).
    await expect(fuzz(['--depth', '2.5'])).rejects.toThrow('--depth must be a whole number ≥ 0, got "2.5"');
  });

  it('the same seed explores the same states (I11)', async () => {
    const first = await fuzzInvariants({ runs: 50, seed: 99, depth: 1 });
    const second = await fuzzInvariants({ runs: 50, seed: 99, depth: 1 });
    expect(second.states).toEqual(first.states);
    expect(second.exploration?.distinctStates).toBe(first.exploration?.distinctStates);
    expect(first.outcomes.every((o) => !o.failed)).toBe(true);
    expect(first.distinctStates).toBeGreaterThan(3);
  });
});
