/** Two runs of one scenario that must agree on everything a trace records. */
import { expect } from 'vitest';
import type { ScenarioTrace } from '../../src/testing/connection-scenario.js';

/** The same effects, steps, message ids, last seq, error and states seen, in the same order. */
export function expectSameTrace(actual: ScenarioTrace, expected: ScenarioTrace): void {
  expect(actual.effects).toEqual(expected.effects);
  expect(actual.steps).toEqual(expected.steps);
  expect(actual.sentMessageIds).toEqual(expected.sentMessageIds);
  expect(actual.lastAppendedSeq).toBe(expected.lastAppendedSeq);
  expect(actual.actorError).toEqual(expected.actorError);
  expect([...actual.statesSeen]).toEqual([...expected.statesSeen]);
}
