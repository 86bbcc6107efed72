/** Turns the per-run figures into bench/results.md: medians, min–max, same-run ratios, targets. */
import os from 'node:os';
import { median, minMax } from './stats.mjs';

const NAMES = { lockstep: 'lockstep', ws: 'raw ws', socketio: 'socket.io' };

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

export function summarize(results) {
  const m = (scenario, impl, key) => {
    const v = runsOf(results, scenario, impl, key);
    return v.length ? median(v) : undefined;
  };
  const r = (scenario, a, b, key) => {
    const v = sameRunRatios(results, scenario, a, b, key);
    return v.length ? median(v) : undefined;
  };
  return {
    throughputVsWs: r('throughput', 'lockstep', 'ws', 'msgsPerSec'),
    throughputVsSocketio: r('throughput', 'lockstep', 'socketio', 'msgsPerSec'),
    setupCpuVsWs: r('setup', 'lockstep', 'ws', 'cpuPerConnMicros'),
    heapPerConnKiB: m('memory', 'lockstep', 'heapPerConnBytes') / 1024,
    openToReadyP99Ms: m('setup', 'lockstep', 'openToReadyP99Ms'),
    interleavingsPerSec: m('verify', 'lockstep', 'interleavingsPerSec'),
    exploredPerSec: m('verify', 'lockstep', 'exploredPerSec'),
    latencyP99VsWs: r('latency', 'lockstep', 'ws', 'p99Ms'),
    fanoutVsWs: r('fanout', 'lockstep', 'ws', 'eventsPerSec'),
  };
}

function targetRows(s) {
  const row = (name, value, fmt, ok) =>
    `| ${name} | ${value === undefined || Number.isNaN(value) ? 'not measured' : fmt(value)} | ${value === undefined || Number.isNaN(value) ? '—' : ok(value) ? 'met' : '**missed**'} |`;
  return [
    '| target | measured (median) | |',
    '|---|---|---|',
    row('throughput ≥ 0.80 × raw ws', s.throughputVsWs, (v) => `${v.toFixed(2)}×`, (v) => v >= 0.8),
    row('throughput ≥ 1.4 × socket.io', s.throughputVsSocketio, (v) => `${v.toFixed(2)}×`, (v) => v >= 1.4),
    row('server CPU per connection setup ≤ 1.5 × raw ws', s.setupCpuVsWs, (v) => `${v.toFixed(2)}×`, (v) => v <= 1.5),
    row('heap per idle connection ≤ 6 KiB', s.heapPerConnKiB, (v) => `${v.toFixed(2)} KiB`, (v) => v <= 6),
    row('open → ready p99 ≤ 1 ms', s.openToReadyP99Ms, (v) => `${v.toFixed(3)} ms`, (v) => v <= 1),
    row('≥ 20,000 interleavings/s per core (pure machines)', s.interleavingsPerSec, int, (v) => v >= 20_000),
    row('≥ 50,000 interleavings/s per core with prefix sharing', s.exploredPerSec, int, (v) => v >= 50_000),
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
  lines.push('# lockstep benchmarks: lockstep vs raw ws vs socket.io');
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
  lines.push('## Targets (issue 7)');
  lines.push('');
  lines.push(...targetRows(summarize(results)));
  lines.push('');
  lines.push('## Figures');
  lines.push('');
  const header = ['figure', ...impls.map((i) => NAMES[i])];
  if (impls.includes('lockstep') && impls.includes('ws')) header.push('lockstep / raw ws');
  if (impls.includes('lockstep') && impls.includes('socketio')) header.push('lockstep / socket.io');
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`|${header.map(() => '---').join('|')}|`);
  for (const f of FIGURES) {
    if (!config.scenarios.includes(f.scenario)) continue;
    const row = [f.label, ...impls.map((i) => cell(runsOf(results, f.scenario, i, f.key), f.fmt))];
    if (impls.includes('lockstep') && impls.includes('ws')) row.push(f.noRatio ? 'n/a' : ratioCell(sameRunRatios(results, f.scenario, 'lockstep', 'ws', f.key)));
    if (impls.includes('lockstep') && impls.includes('socketio')) row.push(f.noRatio ? 'n/a' : ratioCell(sameRunRatios(results, f.scenario, 'lockstep', 'socketio', f.key)));
    lines.push(`| ${row.join(' | ')} |`);
  }
  if (config.scenarios.includes('verify')) {
    lines.push(`| fast-check interleavings/s, pure connection machine, 1 core | ${cell(runsOf(results, 'verify', 'lockstep', 'interleavingsPerSec'), int)} | | | | |`);
    lines.push(`| … steps (events, timer advances) driven/s | ${cell(runsOf(results, 'verify', 'lockstep', 'stepsPerSec'), int)} | | | | |`);
    lines.push(`| … the same machine driven with promise actors (the previous figure, same rounds) | ${cell(runsOf(results, 'verify', 'lockstep', 'beforeInterleavingsPerSec'), int)} | | | | |`);
    lines.push(`| exhaustive exploration from shared prefixes, sequences/s, 1 core | ${cell(runsOf(results, 'verify', 'lockstep', 'exploredPerSec'), int)} | | | | |`);
    lines.push(`| … distinct states (snapshot, timers, harness) reached/s | ${cell(runsOf(results, 'verify', 'lockstep', 'distinctStatesPerSec'), int)} | | | | |`);
  }
  if (config.scenarios.includes('floors')) lines.push(...floorRows(results, impls));
  if (config.scenarios.includes('sockfuzz')) {
    lines.push(`| fuzzed connection scripts/s on real sockets (${config.params.sockfuzz.lanes} at a time) | ${cell(runsOf(results, 'sockfuzz', 'lockstep', 'interleavingsPerSec'), int)} | | | | |`);
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

function floorRows(results, impls) {
  const blanks = ' |'.repeat(impls.length - 1 + (impls.includes('ws') ? 1 : 0) + (impls.includes('socketio') ? 1 : 0));
  return FLOORS.map((f) => `| ${f.label} | ${cell(runsOf(results, 'floors', 'lockstep', f.key), f.fmt)} |${blanks}`);
}

function describeScenarios(p) {
  const t = p.throughput;
  const l = p.latency;
  const s = p.setup;
  return [
    'Every figure comes from two processes on 127.0.0.1 — the server (`bench/server.mjs`, one target,',
    'run with `--expose-gc`) and the load generator (`bench/load.mjs`) — started fresh for each',
    'measurement and killed by pid at its end. Server CPU is `process.cpuUsage()` (user + system)',
    'read in the server process around the measured phase.',
    '',
    '- **lockstep**: `createLockstepServer` with the full protocol — dev-token auth in the upgrade',
    '  header, handshake machine, instantly ready backend (`ready: async () => {}`), a handler that',
    '  does nothing. One round trip = client `message` → `ack` + `agent_started` + `agent_completed`',
    '  (three JSON frames, events numbered by the per-user `seq`, checked by the client). The rate',
    '  limit and the per-user connection cap are lifted; backpressure bounds stay at their defaults.',
    '- **raw ws**: a `ws` server echoing each frame back untouched (no parsing, no guarantees).',
    '- **socket.io**: websocket transport only, `emit` echo; one client per engine (`forceNew`).',
    '- Clients send the same JSON message and parse every frame they receive.',
    '',
    `1. Throughput: ${t.conns} connections × ${t.messages} messages, each connection keeping ${t.window} in flight; round trips/s.`,
    `2. Paced latency: ${l.conns} connections × ${l.rate} msg/s for ${l.seconds} s (after ${l.warmupSeconds} s warm-up); round-trip p50/p99.`,
    `3. Connection setup: ${s.total} connections, ${s.inflight} handshakes in flight, each closed once ready; server CPU until`,
    '   every connection is gone on the server. `open → ready`: client `open` event to lockstep `ready` frame',
    '   (socket.io: to its `connect`; raw ws has no ready step).',
    `4. Memory: ${p.memory.conns} idle connections; server heap and RSS after two forced GCs, minus a baseline`,
    '   taken after a warm-up, divided by the connection count.',
    `5. Fan-out: ${p.fanout.users} users × ${p.fanout.tabs} tabs; the server pushes ${p.fanout.events} events per user`,
    '   (one per user per event-loop turn; lockstep: a pushed run through the event log); events delivered/s',
    '   until every tab received every event, in order.',
    `6. Verification speed, per core (runs per CPU second), in alternating rounds of ${p.verify.seconds} s: fast-check runs/s of`,
    '   the connection invariant property (random scenarios on the pure connection machine, driven synchronously,',
    '   I1–I4, I8–I10 checked); the previous figure (promise actors, one event-loop turn per command, I1–I3);',
    '   and the exhaustive exploration (every command sequence up to depth 4, forked from shared prefixes, each',
    '   checked for every invariant), in sequences/s and distinct states/s.',
    `7. Socket fuzzing: random connection scripts (credentials from the header or an auth frame; messages,`,
    '   pings and garbage, some sent in the `open` callback before `ready`) on real loopback sockets,',
    `   ${p.sockfuzz.lanes} at a time for ${p.sockfuzz.seconds} s; each checked from the client: \`ready\` first, acks in`,
    '   order, one error per garbage frame, every run completed, seq consecutive. Script i is generated',
    `   from seed ${p.sockfuzz.seed} + i.`,
  ];
}
