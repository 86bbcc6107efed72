/**
 * The fuzz campaign behind `lockstep fuzz`: every invariant property against the machines,
 * with a run budget, a seed and an optional time limit, and the figures that tell how much was
 * explored (runs, interleavings per second, distinct states and state-to-state steps seen).
 */
import fc from 'fast-check';
import type { ConnectionLimits } from '../../machines/connection.js';
import { connectionInvariantProperty } from './properties.js';
import { runGrammarProperty } from './run-properties.js';
import { streamDeliveryProperty } from './stream-properties.js';
import type { ConnectionScenario } from './connection-scenario.js';

/** Options of `fuzzInvariants`. */
export interface FuzzOptions {
  /** Runs of the connection property; the run-grammar and stream properties get the same. */
  runs: number;
  seed?: number;
  /** Stop each property after this long (it then reports fewer runs, not a failure). */
  timeLimitMs?: number;
  /** Fuzz your deployment's limits instead of small random ones. */
  limits?: ConnectionLimits;
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
  /** The first failing connection scenario, ready to save under test/regressions/. */
  failingScenario?: ConnectionScenario;
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
    await runProperty('delivery I4 I5 I7 (stream hub + memory log)', streamDeliveryProperty() as unknown as fc.IProperty<[unknown]>, options),
  ];
  const seconds = connection.ms / 1000;
  return {
    outcomes,
    interleavingsPerSecond: connection.runs / seconds,
    stepsPerSecond: stepCount / seconds,
    distinctStates: states.size,
    distinctSteps: steps.size,
    states: [...states].sort(),
    ...(connection.failed ? { failingScenario: connection.counterexample as ConnectionScenario } : {}),
  };
}
