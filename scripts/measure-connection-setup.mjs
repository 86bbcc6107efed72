// Connection setup CPU and idle heap, two builds side by side (not the bench: a quick check).
//
//   node --expose-gc scripts/measure-connection-setup.mjs <distA> <distB> [connections] [rounds]
//
// Both servers run in this process, one at a time, alternating in each round (order swapped
// every round); the clients run in a child process, so process.cpuUsage() here is the server's
// own work: upgrade, actor, handshake (dev tokens, backend ready at once), join, `ready` frame.
// Round 0 is a warm-up. Heap: heapUsed after a full GC with every connection idle in `ready`, minus before.
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

if (process.argv[2] === '--client') {
  // Child: opens N sockets to the URL it is sent, each its own dev user; reports when all are ready.
  const { default: WebSocket } = await import('ws');
  let sockets = [];
  process.on('message', async (msg) => {
    if (msg.type === 'open') {
      let ready = 0;
      await new Promise((resolve) => {
        for (let i = 0; i < msg.n; i++) {
          const ws = new WebSocket(msg.url, ['lockstep.v1', `lockstep.bearer.u${msg.round}x${i}`]);
          ws.on('message', (data) => {
            if (JSON.parse(String(data)).type === 'ready' && ++ready === msg.n) resolve();
          });
          ws.on('error', () => {});
          sockets.push(ws);
        }
      });
      process.send({ type: 'ready' });
    } else if (msg.type === 'close') {
      await Promise.all(sockets.map((ws) => new Promise((resolve) => { ws.once('close', resolve); ws.terminate(); })));
      sockets = [];
      process.send({ type: 'closed' });
    } else if (msg.type === 'exit') process.exit(0);
  });
} else {
  const [distA, distB] = process.argv.slice(2, 4);
  const n = Number(process.argv[4] ?? 500);
  const rounds = Number(process.argv[5] ?? 6);
  if (!distA || !distB || typeof globalThis.gc !== 'function') {
    console.error('usage: node --expose-gc scripts/measure-connection-setup.mjs <distA> <distB> [connections] [rounds]');
    process.exit(2);
  }
  const load = async (dist) => (await import(pathToFileURL(path.resolve(dist, 'src/index.js')).href)).createLockstepServer;
  const targets = [
    { name: distA, create: await load(distA), cpu: [], heap: [] },
    { name: distB, create: await load(distB), cpu: [], heap: [] },
  ];
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: 'inherit' });
  const ask = (msg, answer) => new Promise((resolve) => {
    child.once('message', (m) => (m.type === answer ? resolve() : null));
    child.send(msg);
  });
  const quietly = { info() {}, warn() {}, error() {}, debug() {} };
  const gcHeap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
  // Round 0 warms both up (JIT, pools) and is not counted.
  for (let round = 0; round <= rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const server = target.create({ host: '127.0.0.1', port: 0, auth: 'dev', logger: quietly, maxConnectionsPerAddress: 100_000 });
      const { port } = await server.listen();
      const heap0 = gcHeap();
      const cpu0 = process.cpuUsage();
      await ask({ type: 'open', url: `ws://127.0.0.1:${port}/ws`, n, round }, 'ready');
      const cpu = process.cpuUsage(cpu0);
      const heap1 = gcHeap();
      if (round > 0) {
        target.cpu.push((cpu.user + cpu.system) / n);
        target.heap.push((heap1 - heap0) / n);
      }
      await ask({ type: 'close' }, 'closed');
      await server.close();
    }
  }
  child.send({ type: 'exit' });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // Same-round ratios B/A, then their median.
  const ratio = (key) => median(targets[1][key].map((b, i) => b / targets[0][key][i]));
  for (const t of targets) {
    console.log(`${t.name}: setup CPU ${median(t.cpu).toFixed(1)} µs/connection, idle heap ${(median(t.heap) / 1024).toFixed(2)} KiB/connection (median of ${rounds} rounds of ${n})`);
    console.log(`   cpu per round: ${t.cpu.map((x) => x.toFixed(0)).join(' ')}; heap per round (KiB): ${t.heap.map((x) => (x / 1024).toFixed(2)).join(' ')}`);
  }
  console.log(`B / A (median of same-round ratios): setup CPU ${ratio('cpu').toFixed(3)}×, idle heap ${ratio('heap').toFixed(3)}×`);
}
