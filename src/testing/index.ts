/**
 * `lockstep/testing`: the scenario runner, arbitraries, invariant checkers and properties that
 * lockstep's own suite uses, so users can fuzz the machines with their limits, check their
 * clients' histories, and keep counterexamples as regression tests in their CI.
 * Requires fast-check (^4), an optional peer dependency of lockstep: without it, importing this
 * entry throws LOCKSTEP_ERR_MISSING_PEER with the install line.
 *
 * @module lockstep/testing
 */
export { checkStreamHistory, type HistoryViolation } from './history-checker.js';
export {
  runConnectionScenario,
  runConnectionScenarioSync,
  serializeState,
  SCENARIO_USER,
  type ConnectionCommand,
  type ConnectionScenario,
  type ScenarioTrace,
  type ConnectionMachine,
  type Effect,
  type Step,
  type RunScenarioOptions,
  type ScenarioHead,
} from './connection-scenario.js';
export {
  exploreConnection,
  explorationAlphabet,
  EXPLORATION_LIMITS,
  type ExploreOptions,
  type ExploreReport,
  type ExploredViolation,
} from './connection-explorer.js';
export { connectionCommand, connectionScenario, smallLimits, type ScenarioArbitraryOptions } from './connection-arbitraries.js';
export {
  checkConnectionInvariants,
  checkNoReceiveBeforeAccept,
  checkNoSendOutsideOpenWindow,
  checkNoSilentLoss,
  checkOrderedDelivery,
  checkBoundedMemory,
  checkNoInternalErrorFromRaces,
  checkLiveness,
  CONNECTION_CHECKS,
  type ConnectionInvariant,
  type InvariantId,
  type Violation,
} from './connection-invariants.js';
export { checkRunGrammar, RunGrammar, type RunEventRecord } from './run-grammar.js';
export { runGrammarProperty, runCall, type RunCall, type RunPropertyOptions } from './run-properties.js';
export { streamDeliveryProperty, hubOperation, type HubOperation, type StreamPropertyOptions } from './stream-properties.js';
export { connectionInvariantProperty, dataPathRefinementProperty, DataPathDivergence, describeTrace, InvariantViolation, type ConnectionPropertyOptions } from './properties.js';
export { handlerProperty, type HandlerPropertyOptions } from './handler-property.js';
export { fuzzInvariants, type FuzzOptions, type FuzzReport, type PropertyOutcome, type ExplorationSummary } from './fuzz.js';
export { replayTrace, describeConnectionState, type ReplayResult, type ReplayStep, type ReplayDivergence, type ReplayOptions } from './replay.js';
export { formatReplay, describeEntry, describeEffect } from './replay-report.js';
export { parseTrace, type ConnectionTrace } from '../trace/format.js';
