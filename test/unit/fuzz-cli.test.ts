/** `lockstep fuzz` on the built CLI: it runs every property and reports what it explored. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fuzzInvariants } from '../../src/testing/fuzz.js';

const run = promisify(execFile);

describe('lockstep fuzz', () => {
  it('the built CLI runs the properties and prints runs, rate and states', async () => {
    const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', 'fuzz', '--runs', '100', '--seed', '7']);
    expect(stdout).toContain('seed 7, 100 runs per property');
    expect(stdout.match(/^ {2}ok /gm)).toHaveLength(3);
    expect(stdout).toMatch(/interleavings\/s \(connection scenarios\): \d+/);
    expect(stdout).toMatch(/distinct connection states seen: \d+/);
  });

  it('rejects a bad option with a clear message', async () => {
    await expect(run(process.execPath, ['dist/src/cli/main.js', 'fuzz', '--runs', 'many'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--runs must be a positive number, got "many"'),
    });
  });

  it('the same seed explores the same states (I11)', async () => {
    const first = await fuzzInvariants({ runs: 50, seed: 99 });
    const second = await fuzzInvariants({ runs: 50, seed: 99 });
    expect(second.states).toEqual(first.states);
    expect(first.outcomes.every((o) => !o.failed)).toBe(true);
    expect(first.distinctStates).toBeGreaterThan(3);
  });
});
