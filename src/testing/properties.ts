/**
 * The invariant properties, parameterized by the implementation under test: lockstep's own
 * suite runs them against the real machines, the mutation suite against broken variants, and
 * users against their own limits.
 */
import fc from 'fast-check';
import type { ConnectionLimits } from '../../machines/connection.js';
import { connectionScenario } from './connection-arbitraries.js';
import { checkConnectionInvariants, type ConnectionInvariant, type Violation } from './connection-invariants.js';
import { runConnectionScenarioSync, type ScenarioTrace, type RunScenarioOptions } from './connection-scenario.js';

/** Thrown by a property when an invariant does not hold; fast-check prints it with the counterexample. */
export class InvariantViolation extends Error {
  readonly violations: Violation[];
  constructor(violations: Violation[], detail: string) {
    super(`${violations.map((v) => `${v.invariant}: ${v.message}`).join('\n')}\n${detail}`);
    this.name = 'InvariantViolation';
    this.violations = violations;
  }
}

/** What happened, compactly: the effects of a failing scenario, one per line. */
export function describeTrace(trace: ScenarioTrace): string {
  const lines = trace.effects.map((e) => {
    switch (e.kind) {
      case 'send':
        return `  send ${JSON.stringify(e.frame)}`;
      case 'handler':
        return `  handler ${e.id}`;
      case 'close':
        return `  close ${e.code} ${e.reason}`;
      case 'readLog':
        return `  readLog after ${e.afterSeq}`;
      default:
        return `  ${e.kind}`;
    }
  });
  return `effects:\n${lines.join('\n')}\nstates: ${trace.steps.map((s) => s.state).join(' → ')}`;
}

/** Options of `connectionInvariantProperty`: your limits, a machine variant, and a hook that sees every trace. */
export interface ConnectionPropertyOptions extends RunScenarioOptions {
  /** Your deployment's limits; default: small random limits that reach every bound. */
  limits?: ConnectionLimits;
  maxCommands?: number;
  /** Sees every trace (the fuzz CLI counts states with it). */
  onTrace?: (trace: ScenarioTrace) => void;
}

/** The random scenarios a property runs: your limits and length, or the defaults. */
function scenariosOf(options: ConnectionPropertyOptions) {
  return connectionScenario({
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.maxCommands === undefined ? {} : { maxCommands: options.maxCommands }),
  });
}

/**
 * A property: for every scenario, the given connection invariants hold. Synchronous (the
 * scenarios run with no event-loop turn); `fc.assert`/`fc.check` accept it, awaited or not.
 */
export function connectionInvariantProperty(
  invariants: readonly ConnectionInvariant[] | undefined,
  options: ConnectionPropertyOptions = {},
) {
  const scenarios = scenariosOf(options);
  return fc.property(scenarios, (scenario) => {
    const trace = runConnectionScenarioSync(scenario, options);
    options.onTrace?.(trace);
    const violations = checkConnectionInvariants(trace, invariants);
    if (violations.length > 0) throw new InvariantViolation(violations, describeTrace(trace));
  });
}

/** Thrown by the refinement property when the machine with its data path did something the machine alone would not. */
export class DataPathDivergence extends Error {
  override name = 'DataPathDivergence';
}

/** Where the data path's run first differs from the machine's alone, or undefined: nowhere. */
function firstDivergence(withPath: ScenarioTrace, alone: ScenarioTrace): string | undefined {
  const length = Math.max(withPath.effects.length, alone.effects.length);
  for (let i = 0; i < length; i++) {
    const a = JSON.stringify(withPath.effects[i]);
    const b = JSON.stringify(alone.effects[i]);
    if (a !== b) return `effect ${i}: with the data path ${a ?? 'nothing'}, machine alone ${b ?? 'nothing'}`;
  }
  const statesWith = withPath.steps.map((s) => `${s.state}:${s.status}`).join(' → ');
  const statesAlone = alone.steps.map((s) => `${s.state}:${s.status}`).join(' → ');
  return statesWith === statesAlone ? undefined : `states: with the data path ${statesWith}; machine alone ${statesAlone}`;
}

/**
 * A property: the data path is only an optimisation. For every scenario, the machine with its
 * data path (`options.dataPath`, default lockstep's) does exactly what the machine alone does
 * — the same effects in the same order (frames, acks, handler calls with their run ids,
 * closes) and the same states. A path that decides anything the machine would not (a rate
 * limit skipped, a stale count, a run started outside `ready`) fails it.
 */
export function dataPathRefinementProperty(options: ConnectionPropertyOptions = {}) {
  const scenarios = scenariosOf(options);
  return fc.property(scenarios, (scenario) => {
    const withPath = runConnectionScenarioSync(scenario, options);
    options.onTrace?.(withPath);
    const alone = runConnectionScenarioSync(scenario, { ...options, dataPath: false });
    const divergence = firstDivergence(withPath, alone);
    if (divergence !== undefined) throw new DataPathDivergence(`data path: ${divergence}\n${describeTrace(withPath)}`);
  });
}
