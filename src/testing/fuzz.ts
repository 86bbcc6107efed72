/**
 * The fuzz campaign behind `lockstep fuzz`: every invariant property against the machines,
 * with a run budget, a seed and an optional time limit, then an exhaustive exploration of every
 * command sequence up to a depth from shared prefixes (./connection-explorer.ts), and the
 * figures that tell how much was explored (runs, interleavings per second, distinct states and
 * state-to-state steps seen, sequences and distinct states per second of the exploration).
 */
import fc from 'fast-check';
import type { ConnectionLimits } from '../../machines/connection.js';
import { connectionInvariantProperty } from './properties.js';
import { runGrammarProperty } from './run-properties.js';
import { runControlProperty } from './run-control-properties.js';
import { streamDeliveryProperty } from './stream-properties.js';
import type { ConnectionScenario, ScenarioHead } from './connection-scenario.js';
import { EXPLORATION_LIMITS, exploreConnection } from './connection-explorer.js';

/** Options of `fuzzInvariants`. */
export interface FuzzOptions {
  /** Runs of the connection property; the run-grammar and stream properties get the same. */
  runs: number;
  seed?: number;
  /** Stop each property after this long (it then reports fewer runs, not a failure). */
  timeLimitMs?: number;
  /** Fuzz your deployment's limits instead of small random ones (the exploration uses them too). */
  limits?: ConnectionLimits;
  /** Explore every command sequence up to this many commands (0: no exploration). Default 3. */
  depth?: number;
}

/** What the exhaustive exploration covered (all heads together). */
export interface ExplorationSummary {
  depth: number;
  /** Command sequences run and checked (interleavings), and per second. */
  sequences: number;
  sequencesPerSecond: number;
  /** Distinct states reached (machine snapshot, timers, harness), and per second. */
  distinctStates: number;
  distinctStatesPerSecond: number;
  /** Commands the machine actually ran: once per distinct (state, command). */
  commands: number;
  ms: number;
  truncated: boolean;
}

/** The outcome of one property in a fuzz campaign, with `{ seed, path }` to replay a failure. */
export interface PropertyOutcome {
  name: string;
  runs: number;
  ms: number;
  failed: boolean;
  interrupted: boolean;
  seed: number;
  /** fast-check's replay path: re-run with `{ seed, path }` to get this counterexample at once. */
  path?: string;
  counterexample?: unknown;
  error?: string;
}

/** What a fuzz campaign explored and found. */
export interface FuzzReport {
  outcomes: PropertyOutcome[];
  /** Connection scenarios (interleavings of socket events, results, time) per second. */
  interleavingsPerSecond: number;
  stepsPerSecond: number;
  distinctStates: number;
  distinctSteps: number;
  states: string[];
  /** The exhaustive exploration, unless `depth` was 0. */
  exploration?: ExplorationSummary;
  /** The first failing connection scenario, ready to save under test/regressions/. */
  failingScenario?: ConnectionScenario;
}

/** The heads the exploration starts from: both ways of presenting credentials, with and without a stream before. */
function explorationHeads(limits: ConnectionLimits): ScenarioHead[] {
  return [
    { credentials: 'upgrade', limits, priorEvents: 0, retainEvents: 1 },
    { credentials: 'authFrame', limits, priorEvents: 2, retainEvents: 3 },
  ];
}

function explore(options: FuzzOptions, depth: number): { outcome: PropertyOutcome; summary: ExplorationSummary; failing?: ConnectionScenario } {
  const started = performance.now();
  const summary: ExplorationSummary = { depth, sequences: 0, sequencesPerSecond: 0, distinctStates: 0, distinctStatesPerSecond: 0, commands: 0, ms: 0, truncated: false };
  let failing: { scenario: ConnectionScenario; error: string } | undefined;
  for (const head of explorationHeads(options.limits ?? EXPLORATION_LIMITS)) {
    const left = options.timeLimitMs === undefined ? undefined : Math.max(0, options.timeLimitMs - (performance.now() - started));
    const report = exploreConnection(head, { depth, ...(left === undefined ? {} : { timeLimitMs: left }) });
    summary.sequences += report.sequences;
    summary.distinctStates += report.distinctStates;
    summary.commands += report.commands;
    summary.truncated ||= report.truncated;
    if (report.violation !== undefined) {
      failing = { scenario: report.violation.scenario, error: report.violation.violations.map((v) => `${v.invariant}: ${v.message}`).join('\n') };
      break;
    }
  }
  summary.ms = performance.now() - started;
  summary.sequencesPerSecond = summary.sequences / (summary.ms / 1000);
  summary.distinctStatesPerSecond = summary.distinctStates / (summary.ms / 1000);
  const outcome: PropertyOutcome = {
    name: `connection invariants, every sequence of up to ${depth} commands (exhaustive, shared prefixes)`,
    runs: summary.sequences,
    ms: summary.ms,
    failed: failing !== undefined,
    interrupted: summary.truncated,
    seed: 0,
    ...(failing === undefined ? {} : { counterexample: failing.scenario, error: failing.error }),
  };
  return { outcome, summary, ...(failing === undefined ? {} : { failing: failing.scenario }) };
}

async function runProperty(
  name: string,
  property: fc.IAsyncProperty<[unknown]> | fc.IProperty<[unknown]>,
  options: FuzzOptions,
): Promise<PropertyOutcome> {
  const started = performance.now();
  const details = await fc.check(property as fc.IAsyncProperty<[unknown]>, {
    numRuns: options.runs,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: options.timeLimitMs }),
  });
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : details.errorInstance === undefined ? undefined : String(details.errorInstance);
  return {
    name,
    runs: details.numRuns,
    ms: performance.now() - started,
    failed: details.failed,
    interrupted: details.interrupted,
    seed: details.seed,
    ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath }),
    ...(details.counterexample === null ? {} : { counterexample: details.counterexample[0] }),
    ...(error === undefined ? {} : { error }),
  };
}

/** Runs every invariant property with a run budget, a seed and a time limit, and reports what was explored (what `lockstep fuzz` runs). */
export async function fuzzInvariants(options: FuzzOptions): Promise<FuzzReport> {
  const states = new Set<string>();
  const steps = new Set<string>();
  let stepCount = 0;
  const connection = await runProperty(
    'connection invariants I1 I2 I3 I4 I8 I9 I10 (pure machines)',
    connectionInvariantProperty(undefined, {
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      onTrace: (trace) => {
        let previous: string | undefined;
        for (const step of trace.steps) {
          states.add(step.state);
          if (previous !== undefined && previous !== step.state) steps.add(`${previous} → ${step.state}`);
          previous = step.state;
        }
        stepCount += trace.steps.length;
      },
    }) as unknown as fc.IAsyncProperty<[unknown]>,
    options,
  );
  const outcomes = [
    connection,
    await runProperty('run grammar I6 (run handle + run machine)', runGrammarProperty() as unknown as fc.IAsyncProperty<[unknown]>, options),
    await runProperty('cancel, approvals, deadlines (run bookkeeping + run machine)', runControlProperty() as unknown as fc.IAsyncProperty<[unknown]>, options),
    await runProperty('delivery I4 I5 I7 (stream hub + memory log)', streamDeliveryProperty() as unknown as fc.IProperty<[unknown]>, options),
  ];
  const depth = options.depth ?? 3;
  const exploration = depth > 0 ? explore(options, depth) : undefined;
  if (exploration !== undefined) outcomes.push(exploration.outcome);
  const failingScenario = connection.failed ? (connection.counterexample as ConnectionScenario) : exploration?.failing;
  const seconds = connection.ms / 1000;
  return {
    outcomes,
    interleavingsPerSecond: connection.runs / seconds,
    stepsPerSecond: stepCount / seconds,
    distinctStates: states.size,
    distinctSteps: steps.size,
    states: [...states].sort(),
    ...(exploration === undefined ? {} : { exploration: exploration.summary }),
    ...(failingScenario === undefined ? {} : { failingScenario }),
  };
}
