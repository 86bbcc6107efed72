/**
 * What `import 'lockstep/testing'` loads (package.json exports → dist/src/testing/entry.js):
 * index.ts behind a check for fast-check, an optional peer dependency. A static import of
 * index.ts would fail while Node links the module graph, with ERR_MODULE_NOT_FOUND naming a
 * file deep in dist/; the dynamic import lets LOCKSTEP_ERR_MISSING_PEER name the package and
 * the install line instead. The types are index.ts's (exports → types); the names below are
 * checked against index.ts by test/unit/testing-entry.test.ts.
 */
import { withOptionalPeer } from '../optional-peer.js';

const testing = await withOptionalPeer('fast-check', 'lockstep/testing', () => import('./index.js'));

export const {
  CONNECTION_CHECKS,
  DataPathDivergence,
  EXPLORATION_LIMITS,
  InvariantViolation,
  RunGrammar,
  SCENARIO_USER,
  checkBoundedMemory,
  checkConnectionInvariants,
  checkLiveness,
  checkNoInternalErrorFromRaces,
  checkNoReceiveBeforeAccept,
  checkNoSendOutsideOpenWindow,
  checkNoSilentLoss,
  checkOrderedDelivery,
  checkRunGrammar,
  checkStreamHistory,
  connectionCommand,
  connectionInvariantProperty,
  connectionScenario,
  dataPathRefinementProperty,
  describeConnectionState,
  describeEffect,
  describeEntry,
  describeTrace,
  explorationAlphabet,
  exploreConnection,
  formatReplay,
  fuzzInvariants,
  handlerProperty,
  hubOperation,
  parseTrace,
  replayTrace,
  runCall,
  runConnectionScenario,
  runConnectionScenarioSync,
  runGrammarProperty,
  serializeState,
  smallLimits,
  streamDeliveryProperty,
} = testing;
