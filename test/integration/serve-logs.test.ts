/**
 * `lockstep serve` logs through pino: JSON lines on stderr, at the level of `--log-level`
 * (else LOCKSTEP_LOG_LEVEL); stdout keeps the single "listening on" line.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TestClient } from './client.js';

const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Serves, opens one accepted and one refused connection, stops; returns the JSON log lines. */
async function serveOnce(args: string[], env: Record<string, string> = {}): Promise<Array<{ level: number; msg: string; name?: string }>> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const url = /ws:\/\/\S+\/ws/.exec(line.toString())?.[0];
  expect(url).toBeDefined();
  const accepted = new TestClient(url!, { protocols: ['lockstep.v1', 'lockstep.bearer.zoe'] });
  await accepted.untilType('ready');
  await accepted.close();
  const refused = new TestClient(url!, { protocols: ['lockstep.v1', 'lockstep.bearer.not$valid'] });
  expect((await refused.closed).code).toBe(4401);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  expect((await exited)[0]).toBe(0);
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; name?: string });
}

describe('lockstep serve logs', () => {
  it('logs lifecycle lines as pino JSON on stderr at info by default', async () => {
    const lines = await serveOnce([]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'connection ready', name: 'lockstep' }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'connection refused' }));
  });

  it('--log-level warn drops info lines and wins over LOCKSTEP_LOG_LEVEL', async () => {
    const lines = await serveOnce(['--log-level', 'warn'], { LOCKSTEP_LOG_LEVEL: 'debug' });
    expect(lines.some((l) => l.msg === 'connection ready')).toBe(false);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'connection refused' }));
  });
});
