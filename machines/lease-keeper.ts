/**
 * A node's run leases, kept alive by a named delay instead of a timer in server code:
 *
 *   keeping ──after renewInterval──▶ keeping (renewLeases, sweepExpiredLeases)
 *      └──keeper.stop──▶ stopped
 *
 * Every `renewInterval` (a fraction of the lease time) the node extends the leases of the
 * runs it started and ends, with `agent_error { reason: node_lost }`, the runs whose lease
 * expired because their node died. Both effects are provided by the Redis scale-out.
 */
import { setup } from 'xstate';

/** Input of the lease keeper: how often leases are renewed and expired ones swept. */
export interface LeaseKeeperInput {
  /** How often leases are renewed and expired ones swept, in ms (below the lease time). */
  renewMs: number;
}

/** Events of the lease keeper: `keeper.stop` when the server closes. */
export type LeaseKeeperEvent = { type: 'keeper.stop' };

/** A node's run leases, renewed and swept every `renewInterval` (a named delay) until the server stops. */
export const leaseKeeperMachine = setup({
  types: {
    context: {} as LeaseKeeperInput,
    input: {} as LeaseKeeperInput,
    events: {} as LeaseKeeperEvent,
  },
  delays: {
    renewInterval: ({ context }) => context.renewMs,
  },
  actions: {
    renewLeases: () => {},
    sweepExpiredLeases: () => {},
  },
}).createMachine({
  id: 'leaseKeeper',
  context: ({ input }) => ({ renewMs: input.renewMs }),
  initial: 'keeping',
  states: {
    keeping: {
      after: {
        renewInterval: { target: 'keeping', reenter: true, actions: ['renewLeases', 'sweepExpiredLeases'] },
      },
      on: { 'keeper.stop': 'stopped' },
    },
    stopped: { type: 'final' },
  },
});
