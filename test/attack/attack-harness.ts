/**
 * The attack suite's parts: a real `lockstep serve` process (so an attack that would crash or
 * bloat the server shows as an exit code or an RSS figure, not as a dead test worker), its
 * resident memory read from /proc, and a bystander client that must lose nothing while an
 * attacker works on another connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TestClient } from '../integration/client.js';
import type { EventFrame } from '../../src/protocol/frames.js';
import { within } from '../support/within.js';

export { within };

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** `lockstep serve --port 0 …args` from the built CLI (npm ci builds dist/; after a change: npm run build). */
export class ServeProcess {
  readonly child: ChildProcess;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly exited: Promise<number | null>;
  readonly stderr: string[] = [];

  private constructor(child: ChildProcess, wsUrl: string) {
    this.child = child;
    this.wsUrl = wsUrl;
    const url = new URL(wsUrl);
    this.port = Number(url.port);
    this.httpUrl = `http://${url.host}`;
    this.exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : once(child, 'exit').then(([code]) => code as number | null);
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
  }

  static async start(args: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const wsUrl = await within(
      new Promise<string>((resolve, reject) => {
        let seen = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          const match = /ws:\/\/\S+\/ws/.exec(seen);
          if (match) resolve(match[0]);
        });
        child.once('exit', (code) => reject(new Error(`lockstep serve exited (${String(code)}) before listening:\n${seen}`)));
      }),
      15_000,
      'lockstep serve to print its address',
    );
    return new ServeProcess(child, wsUrl);
  }

  /** Resident set size of the server process, in bytes (Linux /proc). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    if (kib === undefined) throw new Error(`no VmRSS for pid ${String(this.child.pid)}`);
    return Number(kib) * 1024;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<number | null> {
    if (this.alive) this.child.kill('SIGTERM');
    return within(this.exited, 20_000, 'lockstep serve to exit after SIGTERM');
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A well-behaved user on its own connection: sends `count` messages and checks every one was
 * acked and answered by a complete run, with gap-free, duplicate-free seqs (I3, I4).
 */
export async function bystanderRoundTrips(wsUrl: string, count: number, user = 'bystander'): Promise<void> {
  const client = new TestClient(`${wsUrl}`, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
  await within(client.untilType('ready'), 10_000, 'the bystander ready frame');
  for (let i = 1; i <= count; i += 1) {
    client.send({ type: 'message', id: `by-${i}`, text: `question ${i}` });
    await within(
      client.until(() => client.frames.some((f) => f.type === 'event' && f.event === 'agent_completed' && runOf(client, `by-${i}`) === f.runId), `run of by-${i}`),
      10_000,
      `the bystander's run for message by-${i}`,
    );
  }
  const seqs = client.frames.filter((f): f is EventFrame => f.type === 'event').map((f) => f.seq);
  for (let i = 1; i < seqs.length; i += 1) {
    if (seqs[i] !== seqs[i - 1]! + 1) throw new Error(`bystander seqs not consecutive: ${seqs.join(',')}`);
  }
  await within(client.close(), 5_000, 'the bystander close');
}

function runOf(client: TestClient, id: string): string | undefined {
  for (const frame of client.frames) if (frame.type === 'ack' && frame.id === id) return frame.runId;
  return undefined;
}
