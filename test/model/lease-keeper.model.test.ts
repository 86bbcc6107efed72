/**
 * Exhaustive bounded exploration of the lease keeper, executed through its real caller
 * (src/server/run-lease.ts, as the Redis scale-out runs it) with a SimulatedClock and a store
 * that counts calls: every renewal tick must renew and sweep once, and nothing may happen after
 * `keeper.stop`. (Redis itself is exercised by test/integration/redis.)
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { leaseKeeperMachine } from '../../machines/lease-keeper.js';
import { RunLeases } from '../../src/server/run-lease.js';
import { assertComplete, delayEvents, explore, summary, type Path } from './explore.js';

const RENEW_MS = 500;

const exploration = explore({
  name: 'lease-keeper',
  machine: leaseKeeperMachine,
  inputs: [{ renewMs: RENEW_MS }],
  events: (s) => [{ type: 'keeper.stop' }, ...delayEvents(s)],
  serialize: (s) => JSON.stringify(s.value),
});

async function execute(path: Path): Promise<void> {
  const calls = { renew: 0, sweep: 0 };
  const leases = new RunLeases(
    { renewLeases: async () => void (calls.renew += 1), sweepExpiredLeases: async () => (calls.sweep += 1) },
    { renewMs: RENEW_MS, canReach: () => true },
  );
  const clock = new SimulatedClock();
  leases.start(clock);
  let ticks = 0;
  let stopped = false;
  for (const step of path.steps.slice(1)) {
    if (step.event.type === 'keeper.stop') {
      leases.stop();
      stopped = true;
    } else if (step.event.type.startsWith('xstate.after.')) {
      clock.increment(RENEW_MS);
      ticks += 1;
    } else throw new Error(`no real cause for ${step.event.type}`);
    expect(calls, `after ${step.event.type}`).toEqual({ renew: ticks, sweep: ticks });
  }
  if (stopped) {
    clock.increment(RENEW_MS * 3);
    expect(calls, 'nothing after keeper.stop').toEqual({ renew: ticks, sweep: ticks });
  }
}

describe('lease-keeper machine, explored with xstate/graph', () => {
  it('reaches every state and takes every transition; every path runs through RunLeases', async () => {
    assertComplete(exploration, exploration.statesReached, exploration.transitionsTaken);
    for (const path of exploration.paths) await execute(path);
    console.log(summary(exploration, exploration.paths.length, 'through RunLeases with a SimulatedClock'));
  });
});
