/**
 * The synchronous scenario driver (stand-ins settled after each command, no event-loop turn)
 * against the driver it replaced (promise actors, one event-loop turn after every command):
 * for random scenarios — the same arbitraries the properties use — both must produce the same
 * effects, in the same order, and the same steps (state, status, held frames, lag, effect
 * count). Mutant machines too: a variant must not behave differently under the new driver.
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { connectionScenario } from '../../src/testing/connection-arbitraries.js';
import { runConnectionScenarioSync, type RunScenarioOptions } from '../../src/testing/connection-scenario.js';
import { runConnectionScenarioWithPromises } from './promise-scenario-driver.js';
import { earlyFramesDropped, handlerWhileHandshaking, sleepGate } from '../mutation/mutants.js';
import { expectSameTrace } from '../support/same-trace.js';

async function expectSameTraces(numRuns: number, options: () => RunScenarioOptions = () => ({})) {
  await fc.assert(
    fc.asyncProperty(connectionScenario(), async (scenario) => {
      const before = await runConnectionScenarioWithPromises(scenario, options());
      // The promise driver predates the data path: compare the driving, machine alone on both sides
      // (machine + data path against the machine alone: test/unit/connection-data-path.test.ts).
      const after = runConnectionScenarioSync(scenario, { ...options(), dataPath: false });
      expectSameTrace(after, before);
    }),
    { numRuns },
  );
}

// `npm test`: 500 scenarios and 50 per mutant (it must stay cheap: the suite runs it every
// time); `npm run fuzz` (FC_NUM_RUNS): half of FC_NUM_RUNS and a tenth — FC_NUM_RUNS=40000, run
// when the driver was written, compared 20,000 and 4,000 each.
const fuzzRuns = process.env.FC_NUM_RUNS === undefined ? undefined : Number(process.env.FC_NUM_RUNS);
const machineRuns = fuzzRuns === undefined ? 500 : Math.max(500, fuzzRuns / 2);
const mutantRuns = fuzzRuns === undefined ? 50 : Math.max(50, fuzzRuns / 10);

describe('the synchronous driver gives the traces of the promise-based one', () => {
  it(`the connection machine, ${machineRuns} random scenarios`, async () => {
    await expectSameTraces(machineRuns);
  });

  it(`mutant machines (handler while handshaking, early frames dropped, sleep gate), ${mutantRuns} scenarios each`, async () => {
    // One variant each (providing a machine is costly); the sleep gate's clock hook follows
    // whichever driver runs, one scenario at a time.
    const handler = handlerWhileHandshaking();
    const dropped = earlyFramesDropped();
    const gate = sleepGate();
    await expectSameTraces(mutantRuns, () => ({ machine: handler }));
    await expectSameTraces(mutantRuns, () => ({ machine: dropped }));
    await expectSameTraces(mutantRuns, () => gate);
  });
});
