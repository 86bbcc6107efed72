/**
 * The `lockstep` command's front door, on the real CLI process (dist/: `npm run build`):
 * every command answers `--help` and `-h` with its usage on stdout and exit 0; no command or
 * an unknown one prints the usage on stderr with exit 2.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const exec = promisify(execFile);

/** Runs the CLI; resolves with its exit code and output whatever the code. */
async function lockstep(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

const COMMAND_USAGE = {
  serve: 'Usage: lockstep serve',
  viz: 'Usage: lockstep viz',
  fuzz: 'Usage: lockstep fuzz',
  replay: 'Usage: lockstep replay',
};

describe('lockstep --help', () => {
  it.each(Object.entries(COMMAND_USAGE).flatMap(([command, usage]) => [[command, '--help', usage], [command, '-h', usage]]))(
    'lockstep %s %s prints its usage and exits 0',
    async (command, flag, usage) => {
      const result = await lockstep(command, flag);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.startsWith(usage)).toBe(true);
    },
  );

  it.each([['--help'], ['-h'], ['help']])('lockstep %s prints the usage naming every command, exit 0', async (flag) => {
    const result = await lockstep(flag);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Usage: lockstep <command>');
    for (const command of Object.keys(COMMAND_USAGE)) expect(result.stdout).toContain(`lockstep ${command} --help`);
  });

  it('lockstep with no command prints the usage on stderr, exit 2', async () => {
    const result = await lockstep();
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('lockstep: no command given');
    expect(result.stderr).toContain('Usage: lockstep <command>');
  });

  it('an unknown command prints the usage on stderr, exit 2', async () => {
    const result = await lockstep('vizz');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('lockstep: unknown command "vizz"');
    expect(result.stderr).toContain('Usage: lockstep <command>');
  });

  it('an unknown option of a command names it, exit 2', async () => {
    const result = await lockstep('viz', '--outt', 'x');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--outt'");
  });
});
