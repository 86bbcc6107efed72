/**
 * Server-pushed workloads, the same for every target: the server process drives them through
 * the target's `startRun(userId)` (lockstep: `server.startRun`, its real RunHandle; the
 * protocol baselines: the same work by hand; the echo targets: frames with a per-user seq), and
 * the load generator derives from the same plan how many events every tab must receive.
 *
 * Token streaming (`stream` scenario): `users` × `runsPerUser` concurrent runs, each
 * `agent_started`, then `deltasMin`–`deltasMax` `text_delta` tokens of
 * `deltaBytesMin`–`deltaBytesMax` bytes of text, one every `intervalMs`, then `agent_completed`
 * (the stream a real agent's answer makes: `RunHandle.text(delta)`).
 * Runs are spread evenly over the interval (one 1 ms tick serves 1/`intervalMs` of them), and
 * the schedule is open-loop: ticks that fire late are all caught up at once, so a server that
 * falls behind shows it as latency, not as a slower offered rate. Every delta and the
 * completion carry `n` (its place in the run) and `t`, the server's monotonic clock (ms) just
 * before the event was handed to the target — a delta's text starts with `<n>@<t> ` (a delta is
 * only text), the completion's data is `{ n, t }`; the load generator, on the same machine,
 * reads the same clock on arrival.
 */
import { clearInterval } from 'node:timers';

/** CLOCK_MONOTONIC in ms: one clock for every process of this machine (performance.now() has a per-process origin). */
export function monotonicMs() {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

/** A small seeded PRNG (mulberry32): the same plan in the server and the load generator. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['the', 'agent', 'reads', 'your', 'message', 'and', 'thinks', 'about', 'a', 'tool', 'call', 'result', 'then', 'answers', 'with', 'care'];

/** A streaming delta's place in its run and its emission time, from its text (`<n>@<t> …`); undefined for other text. */
export function deltaStamp(delta) {
  const at = delta.indexOf('@');
  const space = delta.indexOf(' ', at);
  if (at <= 0 || space === -1) return undefined;
  return { n: Number(delta.slice(0, at)), t: Number(delta.slice(at + 1, space)) };
}

/** Every run: its user (an index) and its number of deltas. */
export function streamPlan({ users, runsPerUser, deltasMin, deltasMax, seed }) {
  const next = random(seed);
  const runs = [];
  for (let r = 0; r < runsPerUser; r++) {
    for (let user = 0; user < users; user++) runs.push({ user, deltas: deltasMin + Math.floor(next() * (deltasMax - deltasMin + 1)) });
  }
  return runs;
}

/** Events one tab of the plan's users receives in all: agent_started, the deltas, agent_completed per run. */
export function streamEvents(plan) {
  return plan.reduce((sum, run) => sum + run.deltas + 2, 0);
}

/** 64 delta texts of `min`–`max` bytes (ASCII), made once: text generation is not what is measured. */
function deltaTexts({ deltaBytesMin, deltaBytesMax, seed }) {
  const next = random(seed + 1);
  return Array.from({ length: 64 }, () => {
    const length = deltaBytesMin + Math.floor(next() * (deltaBytesMax - deltaBytesMin + 1));
    let text = '';
    while (text.length < length) text += `${WORDS[Math.floor(next() * WORDS.length)]} `;
    return text.slice(0, length);
  });
}

const TICK_MS = 1;

/**
 * Drives the token-streaming plan on `startRun(userId)`; calls `done({ emitted, maxLagMs })`
 * once every run completed (`maxLagMs`: how late the latest tick ran against its schedule).
 */
export function driveStreams(startRun, userIds, params, done) {
  const plan = streamPlan(params);
  const texts = deltaTexts(params);
  const phases = Math.max(1, Math.round(params.intervalMs / TICK_MS));
  const slots = Array.from({ length: phases }, () => []);
  plan.forEach((run, i) => slots[i % phases].push({ user: userIds[run.user], deltas: run.deltas, sent: 0, handle: undefined, ended: false, text: i }));
  let active = plan.length;
  let emitted = 0;
  let tick = 0;
  let maxLagMs = 0;
  const t0 = monotonicMs();
  const step = (slot) => {
    for (const run of slot) {
      if (run.ended) continue;
      if (run.handle === undefined) run.handle = startRun(run.user);
      else if (run.sent < run.deltas) {
        run.sent += 1;
        run.handle.text(`${run.sent}@${monotonicMs().toFixed(3)} ${texts[(run.text + run.sent) & 63]}`);
      } else {
        run.handle.complete({ n: run.sent + 1, t: monotonicMs() });
        run.ended = true;
        active -= 1;
      }
      emitted += 1;
    }
  };
  const timer = setInterval(() => {
    const now = monotonicMs();
    const due = Math.floor((now - t0) / TICK_MS);
    if (tick <= due) maxLagMs = Math.max(maxLagMs, now - (t0 + tick * TICK_MS));
    while (tick <= due && active > 0) step(slots[tick++ % phases]);
    if (active === 0) {
      clearInterval(timer);
      done({ emitted, maxLagMs });
    }
  }, TICK_MS);
}

/**
 * Fan-out: one pushed run per user, `events` events each (agent_started, agent_thinking …,
 * agent_completed), one event per user per event-loop turn, on a target's `startRun` (lockstep's
 * RunHandle, or the protocol baselines' by-hand runs); the echo targets bring their own `fanout`.
 */
export function fanoutRuns(startRun, userIds, events, done) {
  const runs = userIds.map((user) => startRun(user));
  let round = 1; // agent_started is event 1
  const step = () => {
    round += 1;
    for (const run of runs) {
      if (round === events) run.complete({ n: round });
      else run.thinking({ n: round });
    }
    if (round < events) setImmediate(step);
    else done();
  };
  setImmediate(step);
}
