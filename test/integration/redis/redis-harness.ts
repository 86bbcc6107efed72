/**
 * A real `redis-server` on a free loopback port (AOF with fsync on every write, so a restart
 * keeps every acknowledged append) and lockstep nodes as real `lockstep serve` processes
 * against it. Waiting for a process to be ready means reading its output, never sleeping.
 *
 * Without `redis-server`: in CI (env CI set, as `.ci/run` does) the tests FAIL; on a
 * developer machine they are skipped with a loud message naming the Debian package.
 */
import { describe } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REDIS_BIN = 'redis-server';
export const redisInstalled = spawnSync(REDIS_BIN, ['--version'], { stdio: 'ignore' }).status === 0;

const MISSING = `redis-server is not installed: the Redis scale-out tests need it. Install the Debian package: apt-get install -y redis-server`;

/**
 * describe() for tests that need redis-server. In CI it is plain describe: `RedisProcess.start`
 * then throws the message above in beforeAll and every test fails. Elsewhere it skips, loudly.
 */
export const describeWithRedis: typeof describe = (() => {
  if (redisInstalled || process.env.CI) return describe;
  console.error(`\n${'!'.repeat(100)}\n!!! SKIPPED: ${MISSING}\n${'!'.repeat(100)}\n`);
  return describe.skip as unknown as typeof describe;
})();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves when `pattern` appears in what `stream` printed; rejects if the process exits first. */
function waitForOutput(child: ChildProcess, stream: NodeJS.ReadableStream, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        stream.off('data', onData);
        child.off('exit', onExit);
        resolve(match);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${String(code)}) before ready; output:\n${seen}`));
    stream.on('data', onData);
    child.once('exit', onExit);
  });
}

export class RedisProcess {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `aof: false`: no persistence at all (tests that write hundreds of MiB and never restart). */
  static async start(options: { aof?: boolean } = {}): Promise<RedisProcess> {
    if (!redisInstalled) throw new Error(MISSING);
    const redis = new RedisProcess(await freePort(), mkdtempSync(join(tmpdir(), 'lockstep-redis-')));
    redis.#aof = options.aof ?? true;
    await redis.#spawn();
    return redis;
  }

  #aof = true;

  async #spawn(): Promise<void> {
    const child = spawn(REDIS_BIN, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', this.#aof ? 'yes' : 'no', '--appendfsync', 'always', '--protected-mode', 'no',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    await waitForOutput(child, child.stdout!, /Ready to accept connections/, 'redis-server');
  }

  /** Kills Redis without warning (SIGKILL): only what it acknowledged is on disk. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes (SIGSTOP, as in a network partition: the socket stays open, nothing answers) or thaws (SIGCONT). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal);
  }

  /** Starts again on the same port and data directory (its AOF). */
  restart(): Promise<void> {
    return this.#spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const CLI = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));

export class LockstepNode {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly output: string[] = [];

  private constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
    this.exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : once(child, 'exit').then(([code]) => code as number | null);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output.push(chunk.toString());
      this.#waiters = this.#waiters.filter((waiter) => !waiter());
    });
  }

  #waiters: Array<() => boolean> = [];

  /** Resolves once the node logged a line matching `pattern` on stderr. */
  untilLogged(pattern: RegExp): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!pattern.test(this.output.join(''))) return false;
        resolve();
        return true;
      };
      if (!check()) this.#waiters.push(check);
    });
  }

  /**
   * `lockstep serve --port 0 --redis <url> …args` (or the URL in LOCKSTEP_REDIS_URL),
   * resolved once it printed its address.
   */
  static async start(redisUrl: string, args: string[] = [], how: { viaEnv?: boolean } = {}): Promise<LockstepNode> {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...(how.viaEnv ? [] : ['--redis', redisUrl]), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: how.viaEnv ? { ...process.env, LOCKSTEP_REDIS_URL: redisUrl } : process.env,
    });
    const [url] = await waitForOutput(child, child.stdout!, /ws:\/\/\S+\/ws/, 'lockstep serve');
    return new LockstepNode(child, url);
  }

  /** Graceful stop (SIGTERM): drain, 1001, then wait for runs still in flight. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** The node dies at once (SIGKILL): no close frames, no lease release. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
