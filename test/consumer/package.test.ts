/**
 * lockstep as users consume it: the package is built and packed like a release, installed
 * from its tarball into fresh projects outside the repo (frameworks from the npm registry),
 * and the programs of examples/ — compiled against the packed .d.ts — serve a full chat round
 * trip to a real ws client. A second project without `ws` imports `lockstep/machines`. Every
 * entry point is loaded with `require` and with `import`, type-checked as ESM, as CommonJS
 * (`moduleResolution: node` and `node16`) and for a bundler; a third project, installed without
 * the optional peers (and with ioredis removed), shows what `import 'lockstep'` does not load
 * and how the features that need a missing peer fail.
 *
 * The build goes to a staging copy, never to the repo's dist/ (other test files run the CLI
 * from there in parallel).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../integration/client.js';
import { RUN_EVENTS, eventsOf } from '../integration/harness.js';
import {
  CLIENT_FORBID_HOOK,
  CLIENT_ONLY_MJS,
  CLIENT_ONLY_TS,
  CLIENT_WS_MJS,
  consumerTsconfig,
  ENTRIES_TS,
  examplesReadmeTsconfig,
  FORBID_NODE_HOOK,
  MACHINES_ONLY_MJS,
  MACHINES_ONLY_TS,
  moduleSystemTsconfig,
  RECORD_LOADS_MJS,
  REQUIRE_AND_IMPORT_CJS,
  TESTING_WITH_CJS_FAST_CHECK,
} from './fixtures.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
const FRAMEWORKS = ['fastify@^5', '@fastify/websocket@^11', 'pino@^10', 'ws@^8', '@types/node@^20', 'fast-check@^4', '@ag-ui/client@^1'];
/** Installed for lockstep/ag-ui (its optional peers); the examples do not use them. */
const NOT_IN_EXAMPLES = /^(fast-check|@ag-ui\/client)@/;

let tmp: string;
let app: string;
let bare: string;
let lean: string;
let packedFiles: string[];
type ExportTarget = string | { [condition: string]: ExportTarget };
let packageJson: { exports: Record<string, ExportTarget>; typesVersions: Record<string, Record<string, string[]>>; bin: Record<string, string> };

/** Every file an exports target names, through nested conditions. */
const targetFiles = (target: ExportTarget): string[] => (typeof target === 'string' ? [target] : Object.values(target).flatMap(targetFiles));

/** The optional parts `import 'lockstep'` must not load. */
const OPTIONAL_PARTS = /\/node_modules\/(ioredis|fast-check|elkjs)\//;

async function npm(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** tsc prints its diagnostics on stdout: put them in the failure. */
async function typecheck(project: string): Promise<void> {
  try {
    await run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], { cwd: project });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed in ${project}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

beforeAll(async () => {
  const started = Date.now();
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-consumer-'));
  const stage = join(tmp, 'stage');
  app = join(tmp, 'app');
  bare = join(tmp, 'bare');
  lean = join(tmp, 'lean');
  await Promise.all([mkdir(stage), mkdir(app), mkdir(bare), mkdir(lean)]);

  // Pack like a release: package.json's `files` decides what goes in.
  // docs/api (generated, gitignored) is copied too when present: `files` must keep it out.
  for (const entry of ['package.json', 'README.md', 'docs']) await cp(join(repo, entry), join(stage, entry), { recursive: true });
  await run(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')]);
  await run(process.execPath, [join(repo, 'scripts', 'build-cjs.mjs'), join(stage, 'dist')]);
  await run(process.execPath, [join(repo, 'scripts', 'build-client-bundle.mjs'), join(stage, 'dist')]);
  const [packed] = JSON.parse(await npm(stage, 'pack', '--ignore-scripts', '--json', '--pack-destination', tmp)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  packedFiles = packed!.files.map((f) => f.path);
  packageJson = JSON.parse(await readFile(join(stage, 'package.json'), 'utf8'));
  const tarball = join(tmp, packed!.filename);

  // Three fresh projects, installed in parallel: one with the frameworks, two with lockstep alone
  // (optional peers are not installed).
  const manifest = (name: string) => JSON.stringify({ name, private: true, type: 'module' });
  await Promise.all([
    writeFile(join(app, 'package.json'), manifest('consumer-app')),
    writeFile(join(bare, 'package.json'), manifest('consumer-bare')),
    writeFile(join(lean, 'package.json'), manifest('consumer-lean')),
  ]);
  await Promise.all([npm(app, ...INSTALL, tarball, ...FRAMEWORKS), npm(bare, ...INSTALL, '--omit=dev', tarball), npm(lean, ...INSTALL, '--omit=dev', tarball)]);

  // The examples and a file importing every entry point, type-checked strictly (skipLibCheck
  // off: lockstep's own .d.ts are checked too) against the installed package, then run as JS.
  await cp(join(repo, 'examples'), app, { recursive: true, filter: (path) => !path.endsWith('README.md') });
  await writeFile(join(app, 'entries.ts'), ENTRIES_TS);
  // examples/README.md's own steps: its tsconfig.json, and its install lines name every package used here.
  const examplesReadme = await readFile(join(repo, 'examples', 'README.md'), 'utf8');
  for (const pkg of ['lockstep', ...FRAMEWORKS.filter((f) => !NOT_IN_EXAMPLES.test(f)).map((f) => f.replace(/@\^.*$/, '')), 'typescript']) {
    expect(examplesReadme, `examples/README.md installs ${pkg}`).toMatch(new RegExp(`npm install (--save-dev )?[^\n]*${pkg.replace(/[/@]/g, '\\$&')}`));
  }
  await writeFile(join(app, 'tsconfig.json'), examplesReadmeTsconfig(examplesReadme));
  // The same entries file as CommonJS (two resolutions) and for a bundler, in sub-projects of
  // app (their package.json says commonjs; node_modules is app's).
  const systems = ['cjs-node10', 'cjs-node16', 'bundler'] as const;
  for (const system of systems) {
    await mkdir(join(app, system));
    await writeFile(join(app, system, 'package.json'), JSON.stringify({ private: true, type: system === 'bundler' ? 'module' : 'commonjs' }));
    await writeFile(join(app, system, 'entries.ts'), ENTRIES_TS);
    await writeFile(join(app, system, 'tsconfig.json'), moduleSystemTsconfig(system));
  }
  await writeFile(join(app, 'require-and-import.cjs'), REQUIRE_AND_IMPORT_CJS);
  await writeFile(join(app, 'testing-cjs.cjs'), TESTING_WITH_CJS_FAST_CHECK);
  await writeFile(join(app, 'record-loads.mjs'), RECORD_LOADS_MJS);
  await writeFile(join(app, 'client-ws.mjs'), CLIENT_WS_MJS);

  // The machines-only project: no ws at all, no Node types, Node built-ins forbidden at run time.
  await rm(join(bare, 'node_modules', 'ws'), { recursive: true, force: true });
  await rm(join(bare, 'node_modules', '@types', 'ws'), { recursive: true, force: true });
  await writeFile(join(bare, 'machines-only.ts'), MACHINES_ONLY_TS);
  await writeFile(join(bare, 'client-only.ts'), CLIENT_ONLY_TS);
  await writeFile(join(bare, 'tsconfig.json'), consumerTsconfig([], true));
  await writeFile(join(bare, 'forbid-node.mjs'), FORBID_NODE_HOOK);
  await writeFile(join(bare, 'machines-only.mjs'), MACHINES_ONLY_MJS);
  await writeFile(join(bare, 'client-forbid.mjs'), CLIENT_FORBID_HOOK);
  await writeFile(join(bare, 'client-only.mjs'), CLIENT_ONLY_MJS);

  // The lean project: no optional peers, and ioredis (a dependency) removed, as the proof that
  // `import 'lockstep'` does not reach it.
  await rm(join(lean, 'node_modules', 'ioredis'), { recursive: true, force: true });

  const installed = Date.now();
  await Promise.all([typecheck(app), typecheck(bare), ...systems.map((system) => typecheck(join(app, system)))]);
  const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(0);
  console.log(`consumer projects packed and installed in ${seconds(started, installed)} s, type-checked in ${seconds(installed, Date.now())} s`);

}, 240_000);

/** Examples still running when a test failed half-way; stopped by their own pid. */
const running = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface RunningExample {
  child: ChildProcess;
  httpUrl: string;
  wsUrl: string;
  stdout: string[];
}

/** Starts an example on a free port and resolves once it printed where it listens. */
async function startExample(file: string, logLevel = 'info'): Promise<RunningExample> {
  const child = spawn(process.execPath, [join(app, 'out', file)], {
    cwd: app,
    env: { ...process.env, PORT: '0', LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stdout: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before listening: ${stderr}`)));
    lines.on('line', (line) => {
      stdout.push(line);
      const match = /listening on (http:\/\/\S+) \(WebSocket: (ws:\/\/\S+)\)/.exec(line);
      if (match) resolve({ child, httpUrl: match[1]!, wsUrl: match[2]!, stdout });
    });
  });
}

/** auth → ready → message → ack → the run's five events, sent inside `open` like a hurried client. */
async function chatRoundTrip(wsUrl: string): Promise<void> {
  const client = new TestClient(wsUrl, {
    protocols: ['lockstep.v1'],
    onOpen: (ws) => {
      ws.send(JSON.stringify({ type: 'auth', token: 'alice' }));
      ws.send(JSON.stringify({ type: 'message', id: 'm1', text: 'hi' }));
    },
  });
  await client.until(() => eventsOf(client.frames).length === RUN_EVENTS.length, 'the whole run');
  expect(client.frames.map((f) => f.type)).toEqual(['ready', 'ack', ...RUN_EVENTS.map(() => 'event')]);
  expect(client.frames[0]).toMatchObject({ type: 'ready', userId: 'alice' });
  expect(client.frames[1]).toMatchObject({ type: 'ack', id: 'm1' });
  const events = eventsOf(client.frames);
  expect(events.map((e) => e.event)).toEqual(RUN_EVENTS);
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(events.at(-1)?.data).toEqual({ text: 'answer to: hi' });
  expect((await client.close()).code).toBe(1000);
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

async function stop(example: RunningExample): Promise<number | null> {
  const exited = once(example.child, 'exit') as Promise<[number | null]>;
  example.child.kill('SIGTERM');
  return (await exited)[0];
}

const logLines = (stdout: string[]) =>
  stdout.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; userId?: string });

describe('the packed package', () => {
  it('holds the build, the docs, the demo page, the charts and the README, and every exports entry it names', () => {
    for (const path of packedFiles) expect(path).toMatch(/^(dist\/.+\.(js|cjs|d\.ts)|dist\/cjs\/package\.json|docs\/[^/]+\.md|public\/[^/]+|visualizations\/[^/]+\.(md|mmd|svg|stately\.ts)|README\.md|package\.json)$/);
    for (const [entry, target] of Object.entries(packageJson.exports)) {
      if (entry === './package.json') continue;
      expect(Object.keys(target), entry).toEqual(['import', 'require']);
      for (const condition of ['import', 'require'] as const) {
        expect(Object.keys((target as Record<string, ExportTarget>)[condition]!), `${entry} ${condition}`).toEqual(['types', 'default']);
      }
      for (const file of targetFiles(target)) expect(packedFiles).toContain(file.replace(/^\.\//, ''));
    }
    // moduleResolution: node reads typesVersions for the subpaths: one per entry, each packed.
    const subpaths = Object.keys(packageJson.exports).filter((e) => e !== '.' && e !== './package.json').map((e) => e.slice(2));
    expect(Object.keys(packageJson.typesVersions['*']!).sort()).toEqual(subpaths.sort());
    for (const files of Object.values(packageJson.typesVersions['*']!)) for (const file of files) expect(packedFiles).toContain(file.replace(/^\.\//, ''));
    for (const bin of Object.values(packageJson.bin)) expect(packedFiles).toContain(bin.replace(/^\.\//, ''));
    expect(packedFiles.some((p) => p.startsWith('dist/test'))).toBe(false);
    // The demo page's browser bundle of lockstep/client (served by an installed `lockstep serve`).
    expect(packedFiles).toContain('dist/browser/lockstep-client.js');
  });
});

describe('the installed bin', () => {
  it('lockstep --help prints the usage', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'lockstep'), ['--help'], { cwd: app });
    expect(stdout).toContain('Usage: lockstep <command>');
    expect(stdout).toContain('--log-level');
  });
});

describe('embedding examples, installed from the tarball', () => {
  it('node:http: a chat round trip next to the app\'s own routes, logged through pino', async () => {
    const example = await startExample('node-http.js');
    expect(await getText(`${example.httpUrl}/hello`)).toEqual({ status: 200, body: 'hello from your app\n' });
    expect(JSON.parse((await getText(`${example.httpUrl}/health`)).body)).toMatchObject({ status: 'ok' });
    await chatRoundTrip(example.wsUrl);
    // lockstep/client from the tarball, in Node with ws as its WebSocket.
    const { stdout } = await run(process.execPath, ['client-ws.mjs', example.wsUrl], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ status: 'completed', text: 'answer to: hi', events: RUN_EVENTS });
    expect(await stop(example)).toBe(0);
    expect(logLines(example.stdout)).toContainEqual(expect.objectContaining({ msg: 'connection ready', userId: 'alice' }));
  });

  it('fastify + @fastify/websocket: a chat round trip on a fastify route, logged through app.log', async () => {
    const example = await startExample('fastify.js');
    expect(JSON.parse((await getText(`${example.httpUrl}/hello`)).body)).toEqual({ hello: 'from your fastify app' });
    expect((await getText(`${example.httpUrl}/metrics`)).body).toContain('lockstep_');
    await chatRoundTrip(example.wsUrl);
    expect(await stop(example)).toBe(0);
    expect(logLines(example.stdout)).toContainEqual(expect.objectContaining({ msg: 'connection ready', userId: 'alice' }));
  });

  it('ws noServer: a chat round trip on /chat while the app\'s own /echo socket keeps working', async () => {
    const example = await startExample('ws-noserver.js');
    const echo = new WebSocket(example.wsUrl.replace(/\/chat$/, '/echo'));
    await once(echo, 'open');
    echo.send('ping');
    const [reply] = (await once(echo, 'message')) as [Buffer];
    expect(reply.toString()).toBe('echo: ping');
    await chatRoundTrip(example.wsUrl);
    echo.close();
    expect(await stop(example)).toBe(0);
  });
});

describe('lockstep/machines without ws', () => {
  it('imports and runs with ws absent and every Node built-in forbidden; the server entry cannot', async () => {
    const { stdout } = await run(process.execPath, ['--import', './forbid-node.mjs', 'machines-only.mjs'], { cwd: bare });
    expect(JSON.parse(stdout)).toEqual({ connection: 'handshaking', agentRun: 'started', serverLifecycle: 'serving' });
    // The controls: in the same project the server entry cannot load — ws really is absent,
    // and the hook really refuses built-ins.
    const importServer = ['--input-type=module', '-e', "await import('lockstep')"];
    await expect(run(process.execPath, importServer, { cwd: bare })).rejects.toThrow(/Cannot find package 'ws'/);
    await expect(run(process.execPath, ['--import', './forbid-node.mjs', ...importServer], { cwd: bare })).rejects.toThrow(/forbidden import: (node:|ws)/);
  });
});

describe('every entry point, by require and by import', () => {
  it('require and import give the same module objects, with the same names, for each entry', async () => {
    const { stdout } = await run(process.execPath, ['require-and-import.cjs'], { cwd: app });
    const entries = JSON.parse(stdout) as Record<string, { required: string[]; imported: string[]; same: boolean }>;
    expect(Object.keys(entries)).toEqual(['lockstep', 'lockstep/advanced', 'lockstep/machines', 'lockstep/testing', 'lockstep/client', 'lockstep/ag-ui']);
    for (const [entry, { required, imported, same }] of Object.entries(entries)) {
      expect(required, entry).toEqual(imported);
      expect(same, `${entry}: one copy of each module (no dual-package hazard)`).toBe(true);
    }
    // The main entry is what an embedder uses; the adapter's pieces are in lockstep/advanced.
    expect(entries.lockstep!.imported).toContain('createLockstepServer');
    for (const internal of ['SocketTable', 'socketEffects', 'forwardSocketEvents', 'StreamHub', 'decodeClientFrame']) {
      expect(entries.lockstep!.imported).not.toContain(internal);
      expect(entries['lockstep/advanced']!.imported).toContain(internal);
    }
  });

  it('the entries file, compiled as ESM, as CommonJS (node, node16 resolution) runs; the bundler build type-checked', async () => {
    const expected = { server: 'function', error: 'LOCKSTEP_ERR_INVALID_OPTION', hub: 'function', machine: 'connection', violations: 0 };
    for (const compiled of [join('out', 'entries.js'), join('cjs-node10', 'out', 'entries.js'), join('cjs-node16', 'out', 'entries.js')]) {
      const { stdout } = await run(process.execPath, [compiled], { cwd: app });
      expect(JSON.parse(stdout), compiled).toEqual(expected);
    }
    // CommonJS output really calls require (not import) for lockstep.
    expect(await readFile(join(app, 'cjs-node16', 'out', 'entries.js'), 'utf8')).toMatch(/require\(["']lockstep\/testing["']\)/);
  });

  it("lockstep/testing's property runs from CommonJS under CommonJS fast-check", async () => {
    const { stdout } = await run(process.execPath, ['testing-cjs.cjs'], { cwd: app });
    expect(stdout.trim()).toBe('ok');
  });
});

describe('optional parts are loaded only when used', () => {
  it("import 'lockstep' resolves no module of ioredis, fast-check, elkjs or jose (all installed here)", async () => {
    const loads = join(app, 'loads.txt');
    const { stdout } = await run(process.execPath, ['record-loads.mjs'], { cwd: app, env: { ...process.env, LOADS_FILE: loads } });
    const loaded = (await readFile(loads, 'utf8')).trim().split('\n');
    expect(loaded.some((url) => url.includes('/node_modules/ws/'))).toBe(true); // the recording works
    expect(loaded.some((url) => url.includes('/node_modules/lockstep/dist/src/index.js'))).toBe(true);
    expect(loaded.filter((url) => OPTIONAL_PARTS.test(url))).toEqual([]);
    // jose too (a dependency): loaded when a JWT verifier is created, not by the import.
    expect(loaded.filter((url) => url.includes('/node_modules/jose/'))).toEqual([]);
    expect(JSON.parse(stdout).ms).toBeGreaterThan(0);
  });

  it('without the optional peers and without ioredis, lockstep loads by require and import; Redis fails only when called', async () => {
    const cjs = await run(process.execPath, ['-e', "const l = require('lockstep'); console.log(typeof l.createLockstepServer, Object.keys(require.cache).filter((f) => /node_modules.(ioredis|fast-check|elkjs)/.test(f)).length)"], { cwd: lean });
    expect(cjs.stdout.trim()).toBe('function 0');
    const esm = await run(process.execPath, ['--input-type=module', '-e', "const l = await import('lockstep'); console.log(typeof l.createLockstepServer)"], { cwd: lean });
    expect(esm.stdout.trim()).toBe('function');
    const redis = await run(process.execPath, ['--input-type=module', '-e', "const { createRedisScaleOut } = await import('lockstep'); await createRedisScaleOut('redis://127.0.0.1:1').catch((e) => console.log(e.message))"], { cwd: lean });
    expect(redis.stdout).toContain("Cannot find package 'ioredis'");
  });

  it('lockstep/testing without fast-check: LOCKSTEP_ERR_MISSING_PEER with the install line, by require and by import', async () => {
    const show = "(e) => console.log(JSON.stringify({ code: e.code, message: e.message }))";
    const required = await run(process.execPath, ['-e', `try { require('lockstep/testing') } catch (e) { (${show})(e) }`], { cwd: lean });
    const imported = await run(process.execPath, ['--input-type=module', '-e', `await import('lockstep/testing').catch(${show})`], { cwd: lean });
    for (const { stdout } of [required, imported]) {
      expect(JSON.parse(stdout)).toEqual({
        code: 'LOCKSTEP_ERR_MISSING_PEER',
        message: expect.stringContaining('lockstep/testing needs fast-check, an optional peer dependency of lockstep that is not installed: npm install --save-dev fast-check@^4'),
      });
    }
  });

  it('lockstep/ag-ui without @ag-ui/client: LOCKSTEP_ERR_MISSING_PEER with the install line, by require and by import', async () => {
    const show = "(e) => console.log(JSON.stringify({ code: e.code, message: e.message }))";
    const required = await run(process.execPath, ['-e', `try { require('lockstep/ag-ui') } catch (e) { (${show})(e) }`], { cwd: lean });
    const imported = await run(process.execPath, ['--input-type=module', '-e', `await import('lockstep/ag-ui').catch(${show})`], { cwd: lean });
    for (const { stdout } of [required, imported]) {
      expect(JSON.parse(stdout)).toEqual({
        code: 'LOCKSTEP_ERR_MISSING_PEER',
        message: expect.stringContaining('lockstep/ag-ui needs @ag-ui/client, an optional peer dependency of lockstep that is not installed: npm install --save-dev @ag-ui/client@^1'),
      });
    }
  });

  it('lockstep fuzz and lockstep viz without their peer exit 2 with the install line; viz leaves no folder; replay and serve --help work', async () => {
    const bin = join(lean, 'node_modules', '.bin', 'lockstep');
    await expect(run(bin, ['fuzz', '--runs', '1'], { cwd: lean })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('LOCKSTEP_ERR_MISSING_PEER: lockstep fuzz needs fast-check'),
    });
    await expect(run(bin, ['viz', '--out', 'charts'], { cwd: lean })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('LOCKSTEP_ERR_MISSING_PEER: lockstep viz needs elkjs, an optional peer dependency of lockstep that is not installed: npm install --save-dev elkjs@^0.12'),
    });
    await expect(stat(join(lean, 'charts'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await run(bin, ['replay', '--help'], { cwd: lean })).stdout).toContain('Usage: lockstep replay');
    expect((await run(bin, ['serve', '--help'], { cwd: lean })).stdout).toContain('Usage: lockstep serve');
  });
});

describe('lockstep/client without ws and without server code', () => {
  it('imports and runs with ws, Node built-ins and every server module forbidden; the server entry cannot', async () => {
    const { stdout } = await run(process.execPath, ['--import', './client-forbid.mjs', 'client-only.mjs'], { cwd: bare });
    expect(JSON.parse(stdout)).toEqual({
      state: 'closed',
      protocols: ['lockstep.v1', 'lockstep.bearer.alice'],
      sent: ['message'],
      run: { status: 'completed', text: 'echo: hi', events: 5 },
      stored: 1,
    });
    // The control: the same hook refuses the server entry (its server modules, ws, node:*).
    await expect(run(process.execPath, ['--import', './client-forbid.mjs', '--input-type=module', '-e', "await import('lockstep')"], { cwd: bare })).rejects.toThrow(/forbidden import/);
  });
});

describe('lockstep/client in a browser bundle', () => {
  /** The bundle's size bound (minified, ESM; the client and xstate, measured at ~62 kB). */
  const MAX_BUNDLE_BYTES = 80_000;

  it('esbuild (platform browser) bundles it from the installed package without ws, Node built-ins or server code; the bundle runs', async () => {
    // The repo's esbuild, resolving from the fresh project: its node_modules has lockstep and xstate, no ws.
    const { build } = await import('esbuild');
    await writeFile(join(bare, 'browser-app.mjs'), CLIENT_ONLY_MJS);
    const result = await build({
      absWorkingDir: bare,
      entryPoints: ['browser-app.mjs'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      minify: true,
      metafile: true,
      logLevel: 'silent',
      outfile: join(bare, 'out', 'browser-app.mjs'),
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('node_modules/lockstep/dist/src/client/'))).toBe(true);
    expect(inputs.filter((path) => /node_modules\/(ws|ioredis|jose|pino|prom-client)\/|lockstep\/dist\/src\/(server|adapter|delivery|agent|cli)\//.test(path))).toEqual([]);
    // Self-contained: the bundle imports nothing (no 'ws', 'ioredis', 'node:*' left for the browser to fail on).
    expect(Object.values(result.metafile.outputs).flatMap((output) => output.imports)).toEqual([]);
    const bundle = await readFile(join(bare, 'out', 'browser-app.mjs'), 'utf8');
    expect(bundle.match(/\brequire\(|^import\b|[;}]import\s*[{*\w]/gm) ?? []).toEqual([]);
    expect(Buffer.byteLength(bundle), `bundle under ${MAX_BUNDLE_BYTES} bytes`).toBeLessThan(MAX_BUNDLE_BYTES);
    // The bundled app runs (Node here, as a stand-in for the page), with ws, built-ins and server modules forbidden.
    const { stdout } = await run(process.execPath, ['--import', './client-forbid.mjs', join('out', 'browser-app.mjs')], { cwd: bare });
    expect(JSON.parse(stdout)).toMatchObject({ state: 'closed', sent: ['message'], run: { status: 'completed', text: 'echo: hi', events: 5 } });
  });
});
