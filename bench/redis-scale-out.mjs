// Cost of scaling out: a message's run, from `send` to `agent_completed`, seen by a tab on
// the same node and by the same user's tab on another node, with the Redis log, against one
// in-memory node. Real processes: a redis-server (AOF appendfsync always) and `lockstep serve`.
// Run after `npm run build`: node bench/redis-scale-out.mjs [users=20] [messagesPerUser=25]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const USERS = Number(process.argv[2] ?? 20);
const MESSAGES = Number(process.argv[3] ?? 25);
const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

const freePort = () => new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

function waitFor(stream, pattern) {
  return new Promise((resolve) => {
    let seen = '';
    stream.on('data', function onData(chunk) {
      seen += chunk;
      const match = pattern.exec(seen);
      if (match) {
        stream.off('data', onData);
        resolve(match);
      }
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitFor(child.stdout, /Ready to accept connections/);
  return { url: `redis://127.0.0.1:${port}`, stop: async () => { child.kill('SIGKILL'); await once(child, 'exit'); rmSync(dir, { recursive: true, force: true }); } };
}

async function startNode(args) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [url] = await waitFor(child.stdout, /ws:\/\/\S+\/ws/);
  return { url, stop: async () => { child.kill('SIGKILL'); await once(child, 'exit'); } };
}

// Any frame on any socket may satisfy a waiter: every frame re-checks them all.
let waiters = [];
const wake = () => { waiters = waiters.filter((w) => !(w.test() && (w.resolve(), true))); };
const until = (test) => new Promise((resolve) => { waiters.push({ test, resolve }); wake(); });

function tab(url, user) {
  const ws = new WebSocket(url, ['lockstep.v1', `lockstep.bearer.${user}`]);
  const completed = new Map(); // runId → time agent_completed arrived
  const acks = new Map(); // message id → runId
  let isReady = false;
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === 'ready') isReady = true;
    if (frame.type === 'ack') acks.set(frame.id, frame.runId);
    if (frame.type === 'event' && frame.event === 'agent_completed') completed.set(frame.runId, performance.now());
    wake();
  });
  return { ws, completed, acks, ready: until(() => isReady) };
}

const percentile = (values, p) => values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

async function measure(label, urlA, urlB) {
  const pairs = await Promise.all(Array.from({ length: USERS }, async (_, u) => {
    const user = `bench-${label.replace(/[^a-z]+/g, "-")}-${u}`;
    const a = tab(urlA, user);
    const b = tab(urlB, user);
    await Promise.all([a.ready, b.ready]);
    return { a, b };
  }));
  const sentAt = new Map();
  const started = performance.now();
  await Promise.all(pairs.map(async ({ a, b }, u) => {
    for (let m = 0; m < MESSAGES; m++) {
      const id = `u${u}m${m}`;
      sentAt.set(id, performance.now());
      a.ws.send(JSON.stringify({ type: 'message', id, text: 'hello' }));
      await until(() => a.acks.has(id) && a.completed.has(a.acks.get(id)) && b.completed.has(a.acks.get(id)));
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const same = [];
  const other = [];
  for (const { a, b } of pairs) {
    for (const [id, runId] of a.acks) {
      same.push(a.completed.get(runId) - sentAt.get(id));
      other.push(b.completed.get(runId) - sentAt.get(id));
    }
  }
  for (const { a, b } of pairs) { a.ws.close(); b.ws.close(); }
  const runs = USERS * MESSAGES;
  console.log(`${label.padEnd(22)} runs ${runs}  ${(runs * 5 / seconds).toFixed(0).padStart(6)} events/s appended` +
    `  same node p50 ${percentile(same, 0.5).toFixed(2)} ms p99 ${percentile(same, 0.99).toFixed(2)} ms` +
    `  other tab p50 ${percentile(other, 0.5).toFixed(2)} ms p99 ${percentile(other, 0.99).toFixed(2)} ms`);
}

const memory = await startNode([]);
await measure('in-memory, one node', memory.url, memory.url);
await memory.stop();

const redis = await startRedis();
const [a, b] = await Promise.all([startNode(['--redis', redis.url]), startNode(['--redis', redis.url])]);
await measure('redis, one node', a.url, a.url);
await measure('redis, two nodes', a.url, b.url);
await Promise.all([a.stop(), b.stop()]);
await redis.stop();
