import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { leaseKeeperMachine } from '../../machines/lease-keeper.js';

function keeper(renewMs: number) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const actor = createActor(
    leaseKeeperMachine.provide({
      actions: {
        renewLeases: () => calls.push('renew'),
        sweepExpiredLeases: () => calls.push('sweep'),
      },
    }),
    { input: { renewMs }, clock },
  ).start();
  return { clock, calls, actor };
}

describe('leaseKeeperMachine', () => {
  it('renews, then sweeps, once per renewInterval and never before it', () => {
    const { clock, calls } = keeper(500);
    clock.increment(499);
    expect(calls).toEqual([]);
    clock.increment(1);
    expect(calls).toEqual(['renew', 'sweep']);
    clock.increment(500);
    expect(calls).toEqual(['renew', 'sweep', 'renew', 'sweep']);
  });

  it('does nothing more once stopped, and is done', () => {
    const { clock, calls, actor } = keeper(100);
    clock.increment(100);
    actor.send({ type: 'keeper.stop' });
    clock.increment(1000);
    expect(calls).toEqual(['renew', 'sweep']);
    expect(actor.getSnapshot().status).toBe('done');
  });
});
