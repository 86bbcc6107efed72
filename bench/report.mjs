/** Turns the per-run figures into bench/results.md: medians, min–max, same-run ratios, targets. */
import os from 'node:os';
import { BASELINES } from './config.mjs';
import { median, minMax } from './stats.mjs';

const NAMES = { lockstep: 'lockstep', 'ws-protocol': 'ws-protocol', 'socketio-protocol': 'socketio-protocol', ws: 'raw ws', socketio: 'socket.io' };

const kib = (v) => `${(v / 1024).toFixed(2)} KiB`;
const int = (v) => Math.round(v).toLocaleString('en-US');
const dec = (digits) => (v) => v.toFixed(digits);

export const FIGURES = [
  { scenario: 'throughput', key: 'msgsPerSec', label: 'throughput (round trips/s)', fmt: int },
  { scenario: 'throughput', key: 'cpuPerMsgMicros', label: 'server CPU per message (µs)', fmt: dec(1) },
  { scenario: 'throughput', key: 'clientCpuPerMsgMicros', label: 'load-generator CPU per round trip (µs)', fmt: dec(1) },
  { scenario: 'latency', key: 'p50Ms', label: 'paced latency p50 (ms)', fmt: dec(2) },
  { scenario: 'latency', key: 'p99Ms', label: 'paced latency p99 (ms)', fmt: dec(2) },
  { scenario: 'latency', key: 'cpuPerMsgMicros', label: 'paced server CPU per message (µs)', fmt: dec(1) },
  { scenario: 'setup', key: 'connsPerSec', label: 'connection setup (conns/s)', fmt: int },
  { scenario: 'setup', key: 'cpuPerConnMicros', label: 'server CPU per connection (µs)', fmt: dec(0) },
  { scenario: 'setup', key: 'openToReadyP50Ms', label: 'open → ready p50 (ms)', fmt: dec(3), noRatio: true },
  { scenario: 'setup', key: 'openToReadyP99Ms', label: 'open → ready p99 (ms)', fmt: dec(3), noRatio: true },
  { scenario: 'setup', key: 'connectToReadyP99Ms', label: 'connect → ready p99 (ms)', fmt: dec(2) },
  { scenario: 'memory', key: 'heapPerConnBytes', label: 'heap per idle connection', fmt: kib },
  { scenario: 'memory', key: 'rssPerConnBytes', label: 'RSS per idle connection', fmt: kib },
  { scenario: 'fanout', key: 'eventsPerSec', label: 'fan-out (events delivered/s)', fmt: int },
  { scenario: 'fanout', key: 'cpuPerEventMicros', label: 'fan-out server CPU per delivered event (µs)', fmt: dec(2) },
  { scenario: 'stream', key: 'eventsPerSec', label: 'streaming (events delivered/s at the offered rate)', fmt: int },
  { scenario: 'stream', key: 'cpuPerEventMicros', label: 'streaming server CPU per delivered event (µs)', fmt: dec(2) },
  { scenario: 'stream', key: 'p50Ms', label: 'streaming emission → tab p50 (ms)', fmt: dec(2) },
  { scenario: 'stream', key: 'p99Ms', label: 'streaming emission → tab p99 (ms)', fmt: dec(2) },
  { scenario: 'stream', key: 'scheduleLagMs', label: "streaming: the server's schedule fell behind by at most (ms)", fmt: dec(1), noRatio: true },
];

function runsOf(results, scenario, impl, key) {
  return (results[scenario]?.[impl] ?? []).map((r) => r?.[key]).filter((v) => typeof v === 'number' && Number.isFinite(v));
}

/** Ratio a/b per run (both measured in the same alternating round), then median and range. */
function sameRunRatios(results, scenario, a, b, key) {
  const as = results[scenario]?.[a] ?? [];
  const bs = results[scenario]?.[b] ?? [];
  const ratios = [];
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]?.[key];
    const y = bs[i]?.[key];
    if (typeof x === 'number' && typeof y === 'number' && y !== 0) ratios.push(x / y);
  }
  return ratios;
}

function cell(values, fmt) {
  if (values.length === 0) return '—';
  if (values.length === 1) return fmt(values[0]);
  const [lo, hi] = minMax(values);
  return `${fmt(median(values))} (${fmt(lo)}–${fmt(hi)})`;
}

function ratioCell(ratios) {
  return cell(ratios, (v) => `${v.toFixed(2)}×`);
}

/** Correctness counters of a run's figures: every one must be 0. */
const PROBLEM_KEYS = ['violations', 'lost', 'duplicates', 'outOfOrder', 'failures'];

/** lost / duplicated / reordered (and other violations) summed over every run of every target. */
function problems(results) {
  let total = 0;
  let jobs = 0;
  const where = [];
  for (const [scenario, byImpl] of Object.entries(results)) {
    for (const [impl, runs] of Object.entries(byImpl)) {
      for (const r of runs) {
        if (!r) continue;
        jobs += 1;
        const n = PROBLEM_KEYS.reduce((sum, key) => sum + (typeof r[key] === 'number' ? r[key] : 0), 0);
        total += n;
        if (n > 0) where.push(`${scenario} ${NAMES[impl]}`);
      }
    }
  }
  return { total, jobs, where: [...new Set(where)] };
}

export function summarize(results) {
  const m = (scenario, impl, key) => {
    const v = runsOf(results, scenario, impl, key);
    return v.length ? median(v) : undefined;
  };
  const r = (scenario, b, key) => {
    const v = sameRunRatios(results, scenario, 'lockstep', b, key);
    return v.length ? median(v) : undefined;
  };
  return {
    cpuPerMsgVsWsProtocol: r('throughput', 'ws-protocol', 'cpuPerMsgMicros'),
    fanoutCpuVsWsProtocol: r('fanout', 'ws-protocol', 'cpuPerEventMicros'),
    streamCpuVsWsProtocol: r('stream', 'ws-protocol', 'cpuPerEventMicros'),
    throughputVsSocketioProtocol: r('throughput', 'socketio-protocol', 'msgsPerSec'),
    fanoutVsSocketioProtocol: r('fanout', 'socketio-protocol', 'eventsPerSec'),
    heapVsWsProtocol: r('memory', 'ws-protocol', 'heapPerConnBytes'),
    heapVsSocketioProtocol: r('memory', 'socketio-protocol', 'heapPerConnBytes'),
    setupCpuVsWsProtocol: r('setup', 'ws-protocol', 'cpuPerConnMicros'),
    openToReadyP99Ms: m('setup', 'lockstep', 'openToReadyP99Ms'),
    interleavingsPerSec: m('verify', 'lockstep', 'interleavingsPerSec'),
    streamP99Ms: m('stream', 'lockstep', 'p99Ms'),
    streamP99VsWsProtocol: r('stream', 'ws-protocol', 'p99Ms'),
    heapPerConnKiB: m('memory', 'lockstep', 'heapPerConnBytes') / 1024,
    problems: problems(results).total,
    exploredPerSec: m('verify', 'lockstep', 'exploredPerSec'),
  };
}

const measured = (v) => v !== undefined && !Number.isNaN(v);
const times = (v) => `${v.toFixed(2)}×`;

/** The targets of issue 13 (ISSUE-13.md, "Targets"), each met or missed on the medians of same-round ratios. */
function targetRows(s, results, failures) {
  const row = (name, values, show, ok) => {
    const all = values.every(measured);
    return `| ${name} | ${all ? show(...values) : 'not measured'} | ${all ? (ok(...values) ? 'met' : '**missed**') : '—'} |`;
  };
  const p = problems(results);
  return [
    '| target (issue 13) | measured (median of same-round ratios) | |',
    '|---|---|---|',
    row('server CPU per message ≤ 1.5 × ws-protocol', [s.cpuPerMsgVsWsProtocol], times, (v) => v <= 1.5),
    row('fan-out server CPU per delivered event ≤ 1.3 × ws-protocol', [s.fanoutCpuVsWsProtocol], times, (v) => v <= 1.3),
    row('… the same bound on the token-streaming workload', [s.streamCpuVsWsProtocol], times, (v) => v <= 1.3),
    row('throughput ≥ 1.2 × socketio-protocol', [s.throughputVsSocketioProtocol], times, (v) => v >= 1.2),
    row('fan-out events/s ≥ 1.2 × socketio-protocol', [s.fanoutVsSocketioProtocol], times, (v) => v >= 1.2),
    row('heap per idle connection ≤ 1.8 × ws-protocol and below socketio-protocol', [s.heapVsWsProtocol, s.heapVsSocketioProtocol],
      (a, b) => `${times(a)} ws-protocol, ${times(b)} socketio-protocol`, (a, b) => a <= 1.8 && b < 1),
    row('server CPU per connection setup ≤ 1.5 × ws-protocol', [s.setupCpuVsWsProtocol], times, (v) => v <= 1.5),
    row('open → ready p99 ≤ 1 ms', [s.openToReadyP99Ms], (v) => `${v.toFixed(3)} ms`, (v) => v <= 1),
    row('pure-machine interleavings ≥ 20,000/s per core', [s.interleavingsPerSec], int, (v) => v >= 20_000),
    row('≥ 50,000 interleavings/s per core with prefix sharing (exhaustive exploration)', [s.exploredPerSec], int, (v) => v >= 50_000),
    row('0 lost, duplicated or reordered frames in every run (every target)', [p.jobs ? p.total : undefined],
      (v) => `${v} in ${p.jobs} jobs${p.where.length ? ` (${p.where.join(', ')})` : ''}${failures.length ? `; ${failures.length} failed job(s) not counted` : ''}`,
      (v) => v === 0 && failures.length === 0),
  ];
}

export function machineDescription() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: os.loadavg().map((v) => v.toFixed(2)).join(' '),
  };
}

export function renderReport({ config, results, failures, machine, startedAt, seconds, loadAfter, versions, notes = [] }) {
  const impls = config.impls;
  const lines = [];
  lines.push('# lockstep benchmarks: lockstep vs the same protocol by hand (ws, socket.io) and the echo servers');
  lines.push('');
  lines.push(`Generated by \`npm run bench\`${config.quick ? ' (**quick mode**: small sizes, for checking the harness only)' : ''} on ${startedAt} in ${seconds.toFixed(0)} s.`);
  lines.push('');
  lines.push(`- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory} RAM, ${machine.os}`);
  lines.push(`- node ${machine.node}; ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`- load average before / after: ${machine.loadAverage} / ${loadAfter}`);
  lines.push(`- ${config.runs} alternating run(s) (${impls.map((i) => NAMES[i]).join(', ')}, then again …); each cell is the median (min–max) over the runs; ratios are computed per run between targets measured in the same round, then the median (min–max) is shown.`);
  lines.push('');
  lines.push('> **Noise warning.** This machine is shared (other builds and test suites run on the same cores while');
  lines.push('> the benchmark runs), so absolute numbers move from run to run. Compare the **ratios**, which are');
  lines.push('> measured between targets in the same alternating round; rerun with `--runs` higher on a quiet machine');
  lines.push('> for absolute figures.');
  lines.push('');
  lines.push('## Targets (issue 13)');
  lines.push('');
  lines.push(...targetRows(summarize(results), results, failures));
  lines.push('');
  lines.push('## Figures');
  lines.push('');
  // Ratio columns: lockstep ÷ each baseline measured in the same alternating round.
  const baselines = impls.includes('lockstep') ? BASELINES.filter((b) => impls.includes(b)) : [];
  const header = ['figure', ...impls.map((i) => NAMES[i]), ...baselines.map((b) => `lockstep / ${NAMES[b]}`)];
  const columns = header.length;
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`|${header.map(() => '---').join('|')}|`);
  for (const f of FIGURES) {
    if (!config.scenarios.includes(f.scenario)) continue;
    const row = [f.label, ...impls.map((i) => cell(runsOf(results, f.scenario, i, f.key), f.fmt))];
    for (const b of baselines) row.push(f.noRatio ? 'n/a' : ratioCell(sameRunRatios(results, f.scenario, 'lockstep', b, f.key)));
    lines.push(`| ${row.join(' | ')} |`);
  }
  const lockstepOnly = (label, value) => `| ${label} | ${value} |${' |'.repeat(columns - 2)}`;
  if (config.scenarios.includes('verify')) {
    lines.push(lockstepOnly('fast-check interleavings/s, pure connection machine, 1 core', cell(runsOf(results, 'verify', 'lockstep', 'interleavingsPerSec'), int)));
    lines.push(lockstepOnly('… steps (events, timer advances) driven/s', cell(runsOf(results, 'verify', 'lockstep', 'stepsPerSec'), int)));
    lines.push(lockstepOnly('… the same machine driven with promise actors (the previous figure, same rounds)', cell(runsOf(results, 'verify', 'lockstep', 'beforeInterleavingsPerSec'), int)));
    lines.push(lockstepOnly('exhaustive exploration from shared prefixes, sequences/s, 1 core', cell(runsOf(results, 'verify', 'lockstep', 'exploredPerSec'), int)));
    lines.push(lockstepOnly('… distinct states (snapshot, timers, harness) reached/s', cell(runsOf(results, 'verify', 'lockstep', 'distinctStatesPerSec'), int)));
  }
  if (config.scenarios.includes('floors')) lines.push(...FLOORS.map((f) => lockstepOnly(f.label, cell(runsOf(results, 'floors', 'lockstep', f.key), f.fmt))));
  if (config.scenarios.includes('sockfuzz')) {
    lines.push(lockstepOnly(`fuzzed connection scripts/s on real sockets (${config.params.sockfuzz.lanes} at a time)`, cell(runsOf(results, 'sockfuzz', 'lockstep', 'interleavingsPerSec'), int)));
  }
  lines.push('');
  const sum = (scenario, key) => impls.map((i) => `${NAMES[i]} ${runsOf(results, scenario, i, key).reduce((a, b) => a + b, 0)}`).join(', ');
  lines.push('Correctness while measuring (summed over runs; must be 0):');
  if (config.scenarios.includes('throughput')) lines.push(`- throughput, out-of-order or unexpected frames: ${sum('throughput', 'violations')}`);
  if (config.scenarios.includes('latency')) lines.push(`- paced latency, unanswered messages: ${sum('latency', 'lost')}`);
  if (config.scenarios.includes('sockfuzz')) {
    const failed = (results.sockfuzz?.lockstep ?? []).flatMap((r) => (r?.firstFailure ? [r.firstFailure] : []));
    lines.push(`- socket fuzzing, failing scripts: ${runsOf(results, 'sockfuzz', 'lockstep', 'failures').reduce((a, b) => a + b, 0)}${failed.length ? ` (first: ${JSON.stringify(failed[0])})` : ''}`);
  }
  if (config.scenarios.includes('fanout')) {
    lines.push(`- fan-out, events lost: ${sum('fanout', 'lost')}`);
    lines.push(`- fan-out, seq gaps or duplicates: ${sum('fanout', 'violations')}`);
  }
  if (config.scenarios.includes('stream')) {
    lines.push(`- streaming, events lost: ${sum('stream', 'lost')}`);
    lines.push(`- streaming, events duplicated: ${sum('stream', 'duplicates')}`);
    lines.push(`- streaming, events out of order in their run: ${sum('stream', 'outOfOrder')}`);
    lines.push(`- streaming, seq gaps or duplicates in the user stream: ${sum('stream', 'violations')}`);
  }
  lines.push('');
  if (failures.length) {
    lines.push('## Failed jobs');
    lines.push('');
    for (const f of failures) lines.push(`- run ${f.run}, ${f.scenario}, ${f.impl}: ${f.error.split('\n')[0]}`);
    lines.push('');
  }
  lines.push('## What is measured');
  lines.push('');
  lines.push(...describeScenarios(config.params));
  lines.push('', 'Why the missed targets are missed, what was profiled and fixed: [bench/README.md](README.md).');
  if (notes.length) lines.push('', ...notes);
  lines.push('');
  return lines.join('\n');
}

/** The XState floors (bench/floors.mjs), as rows of the figures table: lockstep column only. */
export const FLOORS = [
  { key: 'flatEventMicros', label: 'floor: one event + one assign, one-state XState machine, no sockets (µs)', fmt: dec(1) },
  { key: 'streamEventMicros', label: 'floor: one `stream.event` through the connection machine, no sockets (µs)', fmt: dec(1) },
  { key: 'machinePerMessageMicros', label: 'floor: the connection machine + run handle per message, no sockets (µs)', fmt: dec(1) },
  { key: 'machineLifecycleMicros', label: 'floor: one connection actor created → ready → closed, no sockets (µs)', fmt: dec(0) },
  { key: 'bareActorHeapBytes', label: 'floor: heap of one started XState actor, one-state machine', fmt: kib },
  { key: 'timerActorHeapBytes', label: 'floor: … with one pending `after` delay', fmt: kib },
  { key: 'connectionActorHeapBytes', label: 'floor: heap of one connection actor in `ready`, no socket', fmt: kib },
];

function describeScenarios(p) {
  const t = p.throughput;
  const l = p.latency;
  const s = p.setup;
  const st = p.stream;
  return [
    'Every figure comes from two processes on 127.0.0.1 — the server (`bench/server.mjs`, one target,',
    'run with `--expose-gc`) and the load generator (`bench/load.mjs`) — started fresh for each',
    'measurement and killed by pid at its end. Server CPU is `process.cpuUsage()` (user + system)',
    'read in the server process around the measured phase.',
    '',
    'Targets:',
    '',
    '- **lockstep**: `createLockstepServer` with the full protocol — dev-token auth in the upgrade',
    '  header, the connection machine on a MachineRunner, instantly ready backend (`ready: async () => {}`), a handler that',
    '  does nothing. One round trip = client `message` → `ack` + `agent_started` + `agent_completed`',
    '  (three JSON frames, events numbered by the per-user `seq`, checked by the client). The rate',
    '  limit and the per-user, per-address and total connection caps are lifted; backpressure bounds',
    '  stay at their defaults. Pushed runs (fan-out, streaming) go through `server.startRun` and its RunHandle.',
    '- **ws-protocol**: lockstep\'s wire protocol v1 written by hand on `ws`, no state machine',
    '  (`bench/targets/ws-protocol-server.mjs`, `protocol-by-hand.mjs`): dev-token auth from the upgrade,',
    '  the same `ready` frame (and resume rules), depth check + JSON parse + the same field checks with',
    '  the same error frames, bad-frame count, a lazily refilled rate bucket, dedup by message id per',
    '  user (bounded in count, bytes and age), `ack`, per-user seq, a per-user log bounded in count,',
    '  age and bytes, every event encoded once for all tabs of its user, `bufferedAmount` read before',
    '  every event write (high-water mark: the tab catches up from the log on drain; hard bound:',
    '  terminated), write batching like lockstep\'s (cork at the first write, uncork after the',
    '  microtasks), one shared heartbeat timer. The same bench client as lockstep, unchanged.',
    '- **socketio-protocol**: the same work on socket.io (websocket transport only), every frame a',
    '  socket.io `frame` message carrying the frame object; auth in a middleware from `auth.token`;',
    '  events to a user\'s tabs as one room broadcast (encoded once) after each tab\'s buffer check.',
    '  Its client runs the same checks as lockstep\'s.',
    '- **raw ws**: a `ws` server echoing each frame back untouched (no parsing, no guarantees); pushed',
    '  events are frames with a per-user seq.',
    '- **socket.io**: websocket transport only, `emit` echo; one client per engine (`forceNew`).',
    '- Clients send the same JSON message and parse every frame they receive. Ratios are',
    '  lockstep ÷ the named target, per alternating round, then the median.',
    '',
    'Scenarios:',
    '',
    `1. Throughput: ${t.conns} connections × ${t.messages} messages, each connection keeping ${t.window} in flight; round trips/s.`,
    `2. Paced latency: ${l.conns} connections × ${l.rate} msg/s for ${l.seconds} s (after ${l.warmupSeconds} s warm-up); round-trip p50/p99.`,
    `3. Connection setup: ${s.total} connections, ${s.inflight} handshakes in flight, each closed once ready; server CPU until`,
    '   every connection is gone on the server. `open → ready`: client `open` event to the `ready` frame',
    '   (socket.io echo: to its `connect`; raw ws has no ready step).',
    `4. Memory: ${p.memory.conns} idle connections; server heap and RSS after two forced GCs, minus a baseline`,
    '   taken after a warm-up, divided by the connection count.',
    `5. Fan-out: ${p.fanout.users} users × ${p.fanout.tabs} tabs; the server pushes ${p.fanout.events} events per user`,
    '   (one per user per event-loop turn, as fast as it can; protocol targets: a pushed run through the',
    '   user\'s log); events delivered/s until every tab received every event, in order.',
    `6. Token streaming: ${st.users} users × ${st.tabs} tabs, ${st.users * st.runsPerUser} concurrent pushed runs (${st.runsPerUser} per user), each`,
    `   \`agent_started\`, ${st.deltasMin}–${st.deltasMax} \`agent_thinking\` deltas of ${st.deltaBytesMin}–${st.deltaBytesMax} bytes of text (one every ${st.intervalMs} ms`,
    '   per run, runs spread evenly over the interval, open-loop: late ticks are caught up at once),',
    `   then \`agent_completed\` (seed ${st.seed}; \`bench/workloads.mjs\`). Every tab checks each run: started first, deltas in`,
    '   order, completed last, seq consecutive. CPU per event = server CPU ÷ events delivered to all',
    '   tabs; latency = arrival on the tab − the emission time stamped in the event (CLOCK_MONOTONIC,',
    '   shared by both processes). events/s is the offered rate unless a target falls behind (then the',
    '   schedule lag row grows); fan-out (5.) is the saturated figure.',
    `7. Verification speed, per core (runs per CPU second), in alternating rounds of ${p.verify.seconds} s: fast-check runs/s of`,
    '   the connection invariant property (random scenarios on the pure connection machine, driven synchronously,',
    '   I1–I4, I8–I10 checked); the previous figure (promise actors, one event-loop turn per command, I1–I3);',
    '   and the exhaustive exploration (every command sequence up to depth 4, forked from shared prefixes, each',
    '   checked for every invariant), in sequences/s and distinct states/s.',
    `8. Socket fuzzing: random connection scripts (credentials from the header or an auth frame; messages,`,
    '   pings and garbage, some sent in the `open` callback before `ready`) on real loopback sockets,',
    `   ${p.sockfuzz.lanes} at a time for ${p.sockfuzz.seconds} s; each checked from the client: \`ready\` first, acks in`,
    '   order, one error per garbage frame, every run completed, seq consecutive. Script i is generated',
    `   from seed ${p.sockfuzz.seed} + i.`,
  ];
}
