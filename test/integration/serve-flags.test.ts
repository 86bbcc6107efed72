/**
 * `lockstep serve` refuses flag mistakes at start (exit 2, naming the flag, the value and
 * what is expected) instead of listening on something else — e.g. `--port abc`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('lockstep serve flag validation', () => {
  it.each([
    [['--port', 'abc'], /--port must be an integer 0–65535, got "abc"/],
    [['--port', '70000'], /--port must be an integer 0–65535, got "70000"/],
    [['--port', ''], /--port must be an integer/],
    [['--max-connections', '0'], /--max-connections must be a positive integer, got "0"/],
    [['--max-connections-per-address', 'x'], /--max-connections-per-address must be an integer/],
    [['--close-grace-ms', '1.5'], /--close-grace-ms must be an integer/],
    [['--drain-ms', '0'], /--drain-ms must be a positive integer/],
    [['--host', ''], /host must be a non-empty/],
    [['--prot', '1'], /Unknown option '--prot'/],
    [['--retain-bytes-per-user', '0'], /--retain-bytes-per-user must be a positive integer, got "0"/],
    [['--retain-bytes-total', '1.5'], /--retain-bytes-total must be an integer/],
    [['--demo-delta-ms', 'fast'], /--demo-delta-ms must be an integer 0–\d+, got "fast"/],
  ])('%j exits 2 with a message naming it', (args, message) => {
    const result = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8', timeout: 10_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
