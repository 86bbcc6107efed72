/** Command sequences for the composed client/server world (./client-world.ts), and the I12 property over them. */
import fc from 'fast-check';
import { World, type WorldCommand } from './client-world.js';
import { checkPersonAtScreen } from './client-checks.js';
import type { ClientParts } from '../../src/client/create-client.js';

/** One step: sends, deliveries (the common case), upgrades, agent steps, time, and the faults. */
export const worldCommand: fc.Arbitrary<WorldCommand> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'send' } as const) },
  { weight: 3, arbitrary: fc.boolean().map((toServer) => ({ kind: 'deliver', toServer }) as const) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('net' as const), toServer: fc.boolean(), frames: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'accept' } as const) },
  { weight: 5, arbitrary: fc.nat(3).map((run) => ({ kind: 'agent', run }) as const) },
  { weight: 2, arbitrary: fc.constantFrom(100, 1_000, 12_000).map((ms) => ({ kind: 'advance', ms }) as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'drop' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reload' } as const) },
  { weight: 1, arbitrary: fc.boolean().map((sameLog) => ({ kind: 'restart', sameLog }) as const) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'outage' } as const, { kind: 'recover' } as const) },
);

/** A scenario: the log's retention (small ones refuse resumes with `gap`) and the commands. */
export const worldScenario = fc.record({
  retainEvents: fc.constantFrom(4, 12, 1000),
  commands: fc.array(worldCommand, { minLength: 4, maxLength: 40, size: '+1' }),
});

/** The property, for lockstep's client or a variant of it (the mutation suite): run, come to rest, check. */
export function personAtScreenProperty(parts: Partial<ClientParts> = {}) {
  return fc.property(worldScenario, ({ retainEvents, commands }) => {
    const world = new World({ retainEvents, parts });
    for (const command of commands) world.apply(command);
    const rested = world.quiesce();
    // Checked even when it did not rest: what the person saw names the bug better than "no rest".
    const violation = checkPersonAtScreen(world);
    if (violation !== undefined) throw new Error(violation);
    if (!rested) {
      const snapshot = world.client.getSnapshot();
      throw new Error(`I12: the world did not come to rest (client ${snapshot.state}, outbox ${snapshot.outbox.map((e) => e.id).join(', ') || 'empty'}, server runs open ${world.runs.length})`);
    }
  });
}
