/**
 * The MachineRunner (how the server runs every connection that is not traced or inspected)
 * against a full XState Actor (how it runs those): for random scenarios — the same arbitraries
 * the invariant properties use, with the data path and without — both must ask for the same
 * effects in the same order and pass through the same steps (state, status, held frames, lag).
 * Mutant machines too. (A runner forked from a shared prefix continues exactly like the
 * unforked runner: test/properties/scenario-fork.test.ts, which runs on the runner.)
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { connectionScenario } from '../../src/testing/connection-arbitraries.js';
import { runConnectionScenarioSync, type RunScenarioOptions } from '../../src/testing/connection-scenario.js';
import { earlyFramesDropped, handlerWhileHandshaking, sleepGate } from '../mutation/mutants.js';
import { expectSameTrace } from '../support/same-trace.js';

function expectSameTraces(numRuns: number, options: () => RunScenarioOptions = () => ({})) {
  fc.assert(
    fc.property(connectionScenario(), fc.boolean(), (scenario, withPath) => {
      const dataPath = withPath ? {} : { dataPath: false as const };
      const actor = runConnectionScenarioSync(scenario, { ...options(), ...dataPath, driver: 'actor' });
      const runner = runConnectionScenarioSync(scenario, { ...options(), ...dataPath, driver: 'runner' });
      expectSameTrace(runner, actor);
    }),
    { numRuns },
  );
}

describe('the MachineRunner runs the connection machine exactly as an Actor does', () => {
  it('the connection machine, 400 random scenarios, with and without the data path', () => {
    expectSameTraces(400);
  });

  it('mutant machines (handler while handshaking, early frames dropped, sleep gate), 40 scenarios each', () => {
    // One variant each (providing a machine is costly); the sleep gate's clock hook follows
    // whichever driver runs, one scenario at a time.
    const handler = handlerWhileHandshaking();
    const dropped = earlyFramesDropped();
    const gate = sleepGate();
    expectSameTraces(40, () => ({ machine: handler }));
    expectSameTraces(40, () => ({ machine: dropped }));
    expectSameTraces(40, () => gate);
  });
});
