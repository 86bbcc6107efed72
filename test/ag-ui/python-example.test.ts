/**
 * examples/ag-ui-python/agent.py — an AG-UI agent in Python (standard library only) — behind a
 * real lockstep server with agUiHandler, and a real WebSocket client. Without python3: skipped
 * loudly on a developer machine, FAILS in CI (env CI set), as the Redis and browser tests do.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agUiHandler } from '../../src/ag-ui/handler.js';
import { TestClient } from '../integration/client.js';
import { eventsOf, startServer, type Harness } from '../integration/harness.js';
import { within } from '../support/within.js';

const PYTHON = process.env.LOCKSTEP_PYTHON ?? 'python3';
const AGENT = fileURLToPath(new URL('../../examples/ag-ui-python/agent.py', import.meta.url));
const pythonInstalled = spawnSync(PYTHON, ['--version']).status === 0;
const MISSING = `${PYTHON} is not installed: the AG-UI Python example test needs it. Install the Debian package: apt-get install -y python3`;

const describeWithPython: typeof describe = (() => {
  if (pythonInstalled || process.env.CI) return describe;
  console.error(`\n${'!'.repeat(100)}\n!!! SKIPPED: ${MISSING}\n${'!'.repeat(100)}\n`);
  return describe.skip as unknown as typeof describe;
})();

let agent: ChildProcess | undefined;
let h: Harness | undefined;

/** Starts agent.py on a free port; resolves with its URL once it printed it. */
function startPythonAgent(): Promise<string> {
  if (!pythonInstalled) throw new Error(MISSING);
  const child = spawn(PYTHON, [AGENT], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  agent = child;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`agent.py exited with ${code} before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
}

describeWithPython('examples/ag-ui-python behind lockstep', () => {
  beforeAll(async () => {
    const url = await within(startPythonAgent(), 10_000, 'agent.py to listen');
    h = await startServer({ handler: agUiHandler({ url }) });
  });
  afterAll(async () => {
    await h?.server.close();
    agent?.kill('SIGKILL');
  });

  it('a message runs on the Python agent: streamed text, a tool call with streamed arguments and its result, agent_completed', async () => {
    const client = new TestClient(h!.url, { protocols: ['lockstep.v1', 'lockstep.bearer.alice'] });
    await client.untilType('ready');
    client.send({ type: 'message', id: 'p1', text: 'hello from python' });
    await within(client.until(() => eventsOf(client.frames).some((e) => e.event === 'agent_completed' || e.event === 'agent_error'), 'the run to end'), 10_000, 'the Python run');
    const events = eventsOf(client.frames);
    expect(events.map((e) => e.event)).toEqual([
      'agent_started', 'agent_thinking', 'text_delta', 'text_delta', 'text_delta', 'text_delta', 'text_delta', 'agent_thinking',
      'tool_executing', 'tool_args_delta', 'tool_args_delta', 'agent_thinking', 'tool_completed', 'agent_completed',
    ]);
    expect(events.filter((e) => e.event === 'text_delta').map((e) => (e.data as { delta: string }).delta).join('')).toBe('You said: hello from python');
    const args = events.filter((e) => e.event === 'tool_args_delta').map((e) => (e.data as { delta: string }).delta).join('');
    expect(JSON.parse(args)).toEqual({ text: 'hello from python' });
    expect(events.find((e) => e.event === 'tool_completed')!.data).toMatchObject({ result: '3' });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    await client.close();
  });
});
