/**
 * Load-generator process: runs one scenario against one target and reports figures to the
 * orchestrator over IPC. Server-side readings (CPU, memory, connection count) are asked of
 * the server process through the orchestrator (`server(cmd)`), so they are measured where
 * the work happens.
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import WebSocket from 'ws';
import { connect } from './clients.mjs';
import { percentile, sortedCopy } from './stats.mjs';
import { deltaStamp, monotonicMs, streamEvents, streamPlan } from './workloads.mjs';

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
    let failNow;
    const done = new Promise((resolve, reject) => {
      allDone = resolve;
      failNow = reject;
    });
    const state = Array.from({ length: conns }, () => ({ sent: 0, replied: 0 }));
    const clients = await openMany(impl, port, conns, 200, (i) => `t${i}`, (i) => ({
      onViolation: (text) => {
        violations.push(text);
        // A refused message (an error frame) never completes: say why now instead of at the job timeout.
        if (text.includes(': unexpected ')) failNow(new Error(`throughput: ${text}`));
      },
      onReply: () => {
        const s = state[i];
        s.replied += 1;
        if (s.sent < messages) clients[i].send(s.sent++);
        else if (s.replied === messages && ++finished === conns) allDone();
      },
    }));
    const cpu0 = await cpu();
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    clients.forEach((client, i) => {
      for (let k = 0; k < Math.min(window, messages); k++) client.send(state[i].sent++);
    });
    await done;
    const seconds = (performance.now() - t0) / 1000;
    // The load generator's own CPU: with two cores, a server that needs less than its client
    // is bounded by the client, whatever the server does (raw ws echo is).
    const clientCpu = process.cpuUsage(client0);
    const cpuMicros = (await cpu()) - cpu0;
    for (const client of clients) client.terminate();
    const total = conns * messages;
    return {
      msgsPerSec: total / seconds,
      cpuPerMsgMicros: cpuMicros / total,
      clientCpuPerMsgMicros: (clientCpu.user + clientCpu.system) / total,
      violations: violations.length,
    };
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

/**
 * Token streaming (bench/workloads.mjs): `users` × `tabs` connections; the server streams
 * `users` × `runsPerUser` concurrent runs of small deltas. Every tab checks every run's events:
 * agent_started first, then `n` = 1, 2, … in order, agent_completed last; latency is the
 * monotonic clock on arrival minus the server's `t` stamped at emission.
 */
scenarios.stream = async (impl, port, params) => {
  const { users, tabs, timeoutSeconds } = params;
  const plan = streamPlan(params);
  const expected = streamEvents(plan) * tabs;
  const violations = [];
  const latencies = new Float64Array(expected);
  let samples = 0;
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let allDone;
  const done = new Promise((resolve) => (allDone = resolve));
  // Per tab: run id → the `n` its next event must carry (0 before agent_started).
  const runsOfTab = Array.from({ length: users * tabs }, () => new Map());
  const onEvent = (tab) => (frame) => {
    const arrived = monotonicMs();
    received += 1;
    const runs = runsOfTab[tab];
    const next = runs.get(frame.runId);
    const stamp = frame.event === 'text_delta' && typeof frame.data?.delta === 'string' ? deltaStamp(frame.data.delta) : frame.data;
    const n = frame.event === 'agent_started' ? 0 : stamp?.n;
    if (next === undefined && n !== 0) duplicates += 1; // an event of a run that ended (or never started here)
    else if (n < (next ?? 0)) duplicates += 1;
    else if (n > (next ?? 0)) outOfOrder += 1;
    else if (frame.event === 'agent_completed') runs.delete(frame.runId);
    else runs.set(frame.runId, n + 1);
    if (typeof stamp?.t === 'number' && samples < latencies.length) latencies[samples++] = arrived - stamp.t;
    if (received === expected) allDone();
  };
  const clients = await openMany(impl, port, users * tabs, 200, (i) => `r${Math.floor(i / tabs)}`, (i) => ({
    onViolation: (text) => violations.push(text),
    onEvent: onEvent(i),
  }));
  const userIds = Array.from({ length: users }, (_, u) => `r${u}`);
  const cpu0 = await cpu();
  const t0 = performance.now();
  const { maxLagMs } = await server('stream', { ...params, userIds });
  const timeout = new Promise((resolve) => setTimeout(resolve, timeoutSeconds * 1000).unref());
  await Promise.race([done, timeout]);
  const seconds = (performance.now() - t0) / 1000;
  const cpuMicros = (await cpu()) - cpu0;
  for (const client of clients) client.terminate();
  const sorted = latencies.subarray(0, samples).sort();
  return {
    eventsPerSec: received / seconds,
    cpuPerEventMicros: cpuMicros / Math.max(1, received),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1],
    samples,
    lost: Math.max(0, expected - (received - duplicates)),
    duplicates,
    outOfOrder,
    violations: violations.length,
    scheduleLagMs: maxLagMs,
  };
};

/**
 * One fuzzed connection on a real socket: credentials from the header or an auth frame, a
 * random mix of messages, garbage and pings, the first `early` of them sent in the `open`
 * callback (before `ready`), the rest after it. Resolves with what went wrong ([] if nothing):
 * `ready` first; one ack per message, in order; one error per garbage frame; every run
 * completed; seq consecutive (I1, I3, I4 seen from the client).
 */
function fuzzOne(port, user, plan) {
  return new Promise((resolve) => {
    const problems = [];
    const headers = plan.header ? { authorization: `Bearer ${user}` } : {};
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers, perMessageDeflate: false });
    const messageIds = plan.frames.flatMap((kind, i) => (kind === 'message' ? [`m${i}`] : []));
    const garbage = plan.frames.filter((kind) => kind === 'garbage').length;
    const acks = [];
    let errors = 0;
    let completed = 0;
    let sawReady = false;
    let nextSeq;
    let endPong = false;
    const send = (kind, i) => {
      if (kind === 'message') ws.send(JSON.stringify({ type: 'message', id: `m${i}`, text: 'x' }));
      else if (kind === 'ping') ws.send(JSON.stringify({ type: 'ping', id: `p${i}` }));
      else ws.send('{not json');
    };
    const finishIfDone = () => {
      if (!endPong || completed < messageIds.length) return;
      if (acks.join() !== messageIds.join()) problems.push(`acks ${acks.join()} for ${messageIds.join()}`);
      if (errors !== garbage) problems.push(`${errors} errors for ${garbage} garbage frames`);
      ws.close(1000);
    };
    const timer = setTimeout(() => {
      problems.push('no end within 10 s');
      ws.terminate();
    }, 10_000);
    ws.on('open', () => {
      if (!plan.header) ws.send(JSON.stringify({ type: 'auth', token: user }));
      plan.frames.slice(0, plan.early).forEach((kind, i) => send(kind, i));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (!sawReady) {
        if (frame.type !== 'ready') problems.push(`first frame ${frame.type}`);
        sawReady = true;
        nextSeq = frame.lastSeq + 1;
        plan.frames.slice(plan.early).forEach((kind, i) => send(kind, plan.early + i));
        ws.send(JSON.stringify({ type: 'ping', id: 'end' }));
        return;
      }
      if (frame.type === 'ack') acks.push(frame.id);
      else if (frame.type === 'error') errors += 1;
      else if (frame.type === 'pong' && frame.id === 'end') endPong = true;
      else if (frame.type === 'event') {
        if (frame.seq !== nextSeq) problems.push(`seq ${frame.seq}, expected ${nextSeq}`);
        nextSeq = frame.seq + 1;
        if (frame.event === 'agent_completed') completed += 1;
      }
      finishIfDone();
    });
    ws.on('error', (error) => problems.push(String(error)));
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 1000) problems.push(`closed ${code}`);
      resolve(problems);
    });
  });
}

const fuzzPlan = fc.record({
  header: fc.boolean(),
  frames: fc.array(fc.constantFrom('message', 'message', 'message', 'ping', 'garbage'), { maxLength: 12 }),
  early: fc.nat({ max: 12 }),
});

/** Fuzzing on real sockets: random connection scripts, `lanes` at a time, for `seconds`. */
scenarios.sockfuzz = async (_impl, port, { seconds, lanes, seed }) => {
  const failures = [];
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  // Script i comes from seed + i, so a failing one can be regenerated (I11); socket timing is real.
  const planAt = (index) => fc.sample(fuzzPlan, { numRuns: 1, seed: seed + index })[0];
  let next = 0;
  const t0 = performance.now();
  async function lane() {
    while (performance.now() < deadline) {
      const index = next++;
      const plan = planAt(index);
      const problems = await fuzzOne(port, `z${index}`, { ...plan, early: Math.min(plan.early, plan.frames.length) });
      done += 1;
      if (problems.length) failures.push({ seed, index, plan, problems });
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane));
  return {
    interleavingsPerSec: done / ((performance.now() - t0) / 1000),
    runs: done,
    failures: failures.length,
    firstFailure: failures[0],
  };
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
