/**
 * Load-generator process: runs one scenario against one target and reports figures to the
 * orchestrator over IPC. Server-side readings (CPU, memory, connection count) are asked of
 * the server process through the orchestrator (`server(cmd)`), so they are measured where
 * the work happens.
 */
import { performance } from 'node:perf_hooks';
import { connect } from './clients.mjs';
import { percentile, sortedCopy } from './stats.mjs';

let nextRpc = 0;
const pending = new Map();
function server(cmd, args) {
  const id = nextRpc++;
  process.send({ type: 'server', id, cmd, args });
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

/** Opens `count` connections with at most `inflight` handshakes at once. */
async function openMany(impl, port, count, inflight, userOf, hooksOf = () => ({}), onReady = () => {}) {
  const clients = new Array(count);
  let next = 0;
  async function lane() {
    while (next < count) {
      const i = next++;
      clients[i] = await connect(impl, port, userOf(i), hooksOf(i));
      await onReady(clients[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, lane));
  return clients;
}

/** Polls the server (an external process) until its live connection count is `count`. */
async function serverConnections(count, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { connections } = await server('connections');
    if (connections === count) return;
    if (performance.now() > deadline) throw new Error(`server still has ${connections} connections, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const cpu = async () => (await server('cpu')).cpuMicros;

const scenarios = {
  /** N connections, each sends M messages keeping `window` in flight. */
  async throughput(impl, port, { conns, messages, window }) {
    const violations = [];
    let finished = 0;
    let allDone;
    const done = new Promise((resolve) => (allDone = resolve));
    const state = Array.from({ length: conns }, () => ({ sent: 0, replied: 0 }));
    const clients = await openMany(impl, port, conns, 200, (i) => `t${i}`, (i) => ({
      onViolation: (text) => violations.push(text),
      onReply: () => {
        const s = state[i];
        s.replied += 1;
        if (s.sent < messages) clients[i].send(s.sent++);
        else if (s.replied === messages && ++finished === conns) allDone();
      },
    }));
    const cpu0 = await cpu();
    const t0 = performance.now();
    clients.forEach((client, i) => {
      for (let k = 0; k < Math.min(window, messages); k++) client.send(state[i].sent++);
    });
    await done;
    const seconds = (performance.now() - t0) / 1000;
    const cpuMicros = (await cpu()) - cpu0;
    for (const client of clients) client.terminate();
    const total = conns * messages;
    return { msgsPerSec: total / seconds, cpuPerMsgMicros: cpuMicros / total, violations: violations.length };
  },

  /** N connections, each sends `rate` messages per second for `seconds`; round-trip times. */
  async latency(impl, port, { conns, rate, seconds, warmupSeconds }) {
    const violations = [];
    const sentAt = [];
    const rtts = [];
    let outstanding = 0;
    let measuring = false;
    const clients = await openMany(impl, port, conns, 200, (i) => `l${i}`, (i) => ({
      onViolation: (text) => violations.push(text),
      onReply: (n) => {
        const rtt = performance.now() - sentAt[i][n];
        outstanding -= 1;
        if (measuring && n >= firstMeasured[i]) rtts.push(rtt);
      },
    }));
    for (let i = 0; i < conns; i++) sentAt.push([]);
    const firstMeasured = new Array(conns).fill(Infinity);
    const period = 1000 / rate;
    const timers = [];
    clients.forEach((client, i) => {
      const tick = () => {
        sentAt[i].push(performance.now());
        outstanding += 1;
        client.send(sentAt[i].length - 1);
      };
      // Spread the connections over one period so the server sees a steady stream.
      timers.push(setTimeout(() => timers.push(setInterval(tick, period)), (period * i) / conns));
    });
    await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
    // CPU first: a busy server answers late, and that wait must not stretch the window.
    const cpu0 = await cpu();
    sentAt.forEach((s, i) => (firstMeasured[i] = s.length));
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    for (const timer of timers) clearTimeout(timer);
    const deadline = performance.now() + 5_000;
    while (outstanding > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const cpuMicros = (await cpu()) - cpu0;
    for (const client of clients) client.terminate();
    const sorted = sortedCopy(rtts);
    return {
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1],
      samples: rtts.length,
      lost: outstanding,
      cpuPerMsgMicros: cpuMicros / Math.max(1, rtts.length),
      violations: violations.length,
    };
  },

  /** `total` connections opened (and closed once ready) with `inflight` handshakes at once. */
  async setup(impl, port, { total, inflight }) {
    const openToReady = [];
    const startToReady = [];
    const cpu0 = await cpu();
    const t0 = performance.now();
    const closing = [];
    await openMany(impl, port, total, inflight, (i) => `s${i}`, () => ({}), (client) => {
      openToReady.push(client.tReady - client.tOpen);
      startToReady.push(client.tReady - client.tStart);
      client.close();
      closing.push(client.whenClosed);
    });
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(closing);
    await serverConnections(0);
    const cpuMicros = (await cpu()) - cpu0;
    const o = sortedCopy(openToReady);
    const s = sortedCopy(startToReady);
    return {
      connsPerSec: total / seconds,
      cpuPerConnMicros: cpuMicros / total,
      openToReadyP50Ms: percentile(o, 50),
      openToReadyP99Ms: percentile(o, 99),
      connectToReadyP50Ms: percentile(s, 50),
      connectToReadyP99Ms: percentile(s, 99),
    };
  },

  /** Heap and RSS per idle connection: `conns` open connections, after GC, minus a baseline. */
  async memory(impl, port, { conns }) {
    // Warm up lazily created structures (module caches, pools) before the baseline.
    const warm = await openMany(impl, port, 20, 20, (i) => `w${i}`);
    for (const client of warm) client.close();
    await Promise.all(warm.map((client) => client.whenClosed));
    await serverConnections(0);
    const before = await server('mem');
    const clients = await openMany(impl, port, conns, 200, (i) => `m${i}`);
    await serverConnections(conns);
    const after = await server('mem');
    for (const client of clients) client.terminate();
    return {
      heapPerConnBytes: (after.heapUsed - before.heapUsed) / conns,
      rssPerConnBytes: (after.rss - before.rss) / conns,
    };
  },

  /** `users` × `tabs` connections; the server pushes `events` events to every user. */
  async fanout(impl, port, { users, tabs, events, timeoutSeconds }) {
    const violations = [];
    let received = 0;
    const expected = users * tabs * events;
    let allDone;
    const done = new Promise((resolve) => (allDone = resolve));
    const clients = await openMany(impl, port, users * tabs, 200, (i) => `f${Math.floor(i / tabs)}`, () => ({
      onViolation: (text) => violations.push(text),
      onEvent: () => {
        if (++received === expected) allDone();
      },
    }));
    const userIds = Array.from({ length: users }, (_, u) => `f${u}`);
    const cpu0 = await cpu();
    const t0 = performance.now();
    await server('fanout', { users: userIds, events });
    const timeout = new Promise((resolve) => setTimeout(resolve, timeoutSeconds * 1000).unref());
    await Promise.race([done, timeout]);
    const seconds = (performance.now() - t0) / 1000;
    const cpuMicros = (await cpu()) - cpu0;
    for (const client of clients) client.terminate();
    return {
      eventsPerSec: received / seconds,
      cpuPerEventMicros: cpuMicros / Math.max(1, received),
      lost: expected - received,
      violations: violations.length,
    };
  },
};

process.on('message', async (message) => {
  if (message.type === 'run') {
    try {
      const data = await scenarios[message.scenario](message.impl, message.port, message.params);
      process.send({ type: 'result', data });
    } catch (error) {
      process.send({ type: 'failed', error: String(error?.stack ?? error) });
    }
    return;
  }
  const call = pending.get(message.id);
  if (!call) return;
  pending.delete(message.id);
  if (message.error) call.reject(new Error(message.error));
  else call.resolve(message.result);
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'up' });
