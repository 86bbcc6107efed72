/**
 * `lockstep fuzz`: runs the invariant properties against the built machines, then explores every
 * connection command sequence up to --depth exhaustively, and reports what was explored. Exit code 1 when a counterexample is found; it is printed with its
 * `{ seed, path }` and, with --save, written as a scenario file for test/regressions/.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { withOptionalPeer } from '../optional-peer.js';

export const FUZZ_USAGE = `Usage: lockstep fuzz [--runs 10000] [--seed S] [--time-limit SECONDS] [--depth 3] [--save FILE] [--json]

  --runs N          runs per property                                     default 10000
  --seed S          fast-check seed (a failure prints the seed and path to replay it)
  --time-limit S    stop each property (and the exploration) after S seconds (fewer runs, not a failure)
  --depth N         then check every connection command sequence of up to N commands
                    (19 commands, each step from every state; forks share prefixes;
                    N = 4: ~200,000 sequences), 0 to skip                 default 3
  --save FILE       write the failing connection scenario to FILE (for test/regressions/)
  --json            print the report as JSON`;

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

function nonNegativeInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number ≥ 0, got "${raw}"`);
  return value;
}

export async function fuzz(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '10000' },
      seed: { type: 'string' },
      'time-limit': { type: 'string' },
      depth: { type: 'string', default: '3' },
      save: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(FUZZ_USAGE);
    return;
  }
  const runs = Math.round(positive('runs', values.runs) ?? 10_000);
  const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
  const timeLimit = positive('time-limit', values['time-limit']);
  const depth = nonNegativeInteger('depth', values.depth);
  // fast-check is an optional peer: loaded here, after the arguments are checked.
  const { fuzzInvariants } = await withOptionalPeer('fast-check', 'lockstep fuzz', () => import('../testing/fuzz.js'));
  const report = await fuzzInvariants({ runs, seed, depth, ...(timeLimit === undefined ? {} : { timeLimitMs: timeLimit * 1000 }) });
  const failed = report.outcomes.some((o) => o.failed);
  if (failed && values.save !== undefined && report.failingScenario !== undefined) {
    writeFileSync(values.save, `${JSON.stringify(report.failingScenario, null, 2)}\n`);
  }
  if (values.json) {
    console.log(JSON.stringify({ seed, ...report }, null, 2));
  } else {
    console.log(`lockstep fuzz — seed ${seed}, ${runs} runs per property (node ${process.version}, ${availableParallelism()} cores, one used)`);
    for (const o of report.outcomes) {
      const status = o.failed ? 'FAILED' : o.interrupted ? 'ok (time limit)' : 'ok';
      console.log(`  ${status.padEnd(15)} ${o.name}: ${o.runs} runs in ${(o.ms / 1000).toFixed(1)} s`);
      if (o.failed) {
        console.log(`    replay with { seed: ${o.seed}, path: "${o.path ?? ''}" }`);
        console.log(`    counterexample: ${JSON.stringify(o.counterexample)}`);
        console.log(`    ${(o.error ?? '').split('\n').join('\n    ')}`);
      }
    }
    console.log(`  interleavings/s (connection scenarios): ${Math.round(report.interleavingsPerSecond)}`);
    console.log(`  steps/s: ${Math.round(report.stepsPerSecond)}`);
    console.log(`  distinct connection states seen: ${report.distinctStates}; distinct state-to-state steps: ${report.distinctSteps}`);
    const x = report.exploration;
    if (x !== undefined) {
      console.log(`  exploration, every sequence of up to ${x.depth} command${x.depth === 1 ? "" : "s"}${x.truncated ? ' (stopped by the time limit)' : ''}: ${x.sequences} sequences (interleavings), ${Math.round(x.sequencesPerSecond)}/s`);
      console.log(`    distinct states (snapshot, timers, harness): ${x.distinctStates}, ${Math.round(x.distinctStatesPerSecond)}/s; the machine ran ${x.commands} commands (once per distinct state and command)`);
    }
    if (failed && values.save !== undefined) console.log(`  failing scenario written to ${values.save}`);
  }
  if (failed) process.exitCode = 1;
}
