/**
 * `lockstep/testing`: the invariant checkers (and, with fast-check installed, the arbitraries)
 * that lockstep's own property tests use, so users can fuzz their handlers and options in CI.
 */
export { checkStreamHistory, type HistoryViolation } from './history-checker.js';
