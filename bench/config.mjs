/**
 * Scenario sizes and run knobs. Every knob is a flag or an environment variable:
 *   --quick            BENCH_QUICK=1     small sizes, 1 run: proves the harness (≈ 1–2 min)
 *   --runs N           BENCH_RUNS        alternating runs per scenario (default 3, quick 1)
 *   --scale F          BENCH_SCALE       multiplies every count (connections, messages, events)
 *   --only a,b         BENCH_ONLY        scenarios: throughput,latency,setup,memory,fanout,stream,verify,sockfuzz,floors
 *   --impls a,b        BENCH_IMPLS       targets: lockstep,ws-protocol,socketio-protocol,ws,socketio
 *   --out FILE         BENCH_OUT         report (default bench/results.md)
 *   --job-timeout S    BENCH_JOB_TIMEOUT seconds before a server/load pair is killed (default 120)
 */
const FULL = {
  runs: 3,
  // Sized for five targets × 3 runs in about 7 minutes on a quiet 2-core machine.
  throughput: { conns: 100, messages: 1000, window: 50 },
  latency: { conns: 100, rate: 20, seconds: 3, warmupSeconds: 1 },
  setup: { total: 5000, inflight: 200 },
  memory: { conns: 5000 },
  fanout: { users: 1000, tabs: 2, events: 50, timeoutSeconds: 60 },
  stream: { users: 100, tabs: 2, runsPerUser: 1, deltasMin: 50, deltasMax: 200, deltaBytesMin: 20, deltaBytesMax: 60, intervalMs: 20, seed: 13, timeoutSeconds: 60 },
  verify: { seconds: 3 },
  sockfuzz: { seconds: 5, lanes: 50, seed: 7 },
  floors: { events: 200000, connections: 5000 },
};

const QUICK = {
  runs: 1,
  throughput: { conns: 20, messages: 200, window: 20 },
  latency: { conns: 20, rate: 20, seconds: 1, warmupSeconds: 0.5 },
  setup: { total: 300, inflight: 50 },
  memory: { conns: 500 },
  fanout: { users: 100, tabs: 2, events: 10, timeoutSeconds: 20 },
  stream: { users: 25, tabs: 2, runsPerUser: 1, deltasMin: 50, deltasMax: 100, deltaBytesMin: 20, deltaBytesMax: 60, intervalMs: 20, seed: 13, timeoutSeconds: 20 },
  verify: { seconds: 1 },
  sockfuzz: { seconds: 1, lanes: 10, seed: 7 },
  floors: { events: 20000, connections: 500 },
};

// Counts scaled by --scale; rates, windows and durations are not.
const SCALED = {
  throughput: ['conns', 'messages'],
  latency: ['conns'],
  setup: ['total'],
  memory: ['conns'],
  fanout: ['users', 'events'],
  stream: ['users'],
  verify: [],
  sockfuzz: [],
  floors: ['events', 'connections'],
};

export const ALL_SCENARIOS = ['throughput', 'latency', 'setup', 'memory', 'fanout', 'stream', 'verify', 'sockfuzz', 'floors'];
/** lockstep-only scenarios (lockstep's guarantees, or the XState floors under its figures). */
export const LOCKSTEP_ONLY = ['verify', 'sockfuzz', 'floors'];
/** lockstep, the two hand-written protocol baselines (the fair comparison), the two echo servers. */
export const ALL_IMPLS = ['lockstep', 'ws-protocol', 'socketio-protocol', 'ws', 'socketio'];
/** The baselines every lockstep figure is divided by, in the report's column order. */
export const BASELINES = ['ws-protocol', 'socketio-protocol', 'ws', 'socketio'];

function flag(argv, name) {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
}

export function readConfig(argv = process.argv.slice(2), env = process.env) {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1';
  const base = quick ? QUICK : FULL;
  const scale = Number(flag(argv, 'scale') ?? env.BENCH_SCALE ?? 1);
  const runs = Number(flag(argv, 'runs') ?? env.BENCH_RUNS ?? base.runs);
  const only = (flag(argv, 'only') ?? env.BENCH_ONLY ?? ALL_SCENARIOS.join(',')).split(',');
  const impls = (flag(argv, 'impls') ?? env.BENCH_IMPLS ?? ALL_IMPLS.join(',')).split(',');
  for (const s of only) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario "${s}" (${ALL_SCENARIOS.join(', ')})`);
  for (const i of impls) if (!ALL_IMPLS.includes(i)) throw new Error(`unknown target "${i}" (${ALL_IMPLS.join(', ')})`);
  if (!(scale > 0) || !Number.isInteger(runs) || runs < 1) throw new Error('--scale must be > 0 and --runs a positive integer');
  const params = {};
  for (const scenario of ALL_SCENARIOS) {
    params[scenario] = { ...base[scenario] };
    for (const key of SCALED[scenario]) params[scenario][key] = Math.max(1, Math.round(params[scenario][key] * scale));
  }
  return {
    quick,
    scale,
    runs,
    scenarios: ALL_SCENARIOS.filter((s) => only.includes(s)),
    impls: ALL_IMPLS.filter((i) => impls.includes(i)),
    params,
    out: flag(argv, 'out') ?? env.BENCH_OUT ?? new URL('./results.md', import.meta.url).pathname,
    jobTimeoutSeconds: Number(flag(argv, 'job-timeout') ?? env.BENCH_JOB_TIMEOUT ?? 120),
  };
}
