/**
 * Forking a running scenario (src/testing/scenario-fork.ts) gives an actor that behaves exactly
 * like the original from there on — same effects, same steps — including its pending timers
 * (which XState itself does not restore) and a handshake still waiting on verification or
 * readiness. Both continue independently: what one does after the fork never shows in the other.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connectionCommand, connectionScenario, smallLimits } from '../../src/testing/connection-arbitraries.js';
import {
  applyCommand,
  finishScenario,
  runConnectionScenarioSync,
  startScenario,
  type ConnectionScenario,
} from '../../src/testing/connection-scenario.js';
import { forkScenario } from '../../src/testing/scenario-fork.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';
import { expectSameTrace } from '../support/same-trace.js';


// Besides the usual scenarios: short timeouts and short clock steps, so that timers pending
// at the fork fire in the middle of the commands after it (a timer re-armed with the wrong
// start or order then shows in the trace).
const shortTimers = fc.record({
  credentials: fc.constantFrom('upgrade' as const, 'authFrame' as const),
  limits: fc
    .tuple(smallLimits, fc.integer({ min: 20, max: 300 }), fc.integer({ min: 20, max: 300 }), fc.integer({ min: 20, max: 300 }), fc.integer({ min: 20, max: 300 }))
    .map(([limits, authTimeoutMs, backendTimeoutMs, heartbeatMs, closeTimeoutMs]) => ({ ...limits, authTimeoutMs, backendTimeoutMs, heartbeatMs, closeTimeoutMs })),
  priorEvents: fc.integer({ min: 0, max: 3 }),
  retainEvents: fc.integer({ min: 1, max: 10 }),
  commands: fc.array(
    fc.oneof(
      { weight: 2, arbitrary: connectionCommand() },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 120 }).map((ms) => ({ kind: 'advance', ms }) as const) },
    ),
    { maxLength: 40 },
  ),
});
const withForkPoint = fc.oneof(connectionScenario(), shortTimers).chain((scenario) =>
  fc.tuple(fc.constant(scenario), fc.integer({ min: 0, max: scenario.commands.length })),
);

describe('forkScenario', () => {
  it('the original and its fork both continue exactly like the unforked run', () => {
    fc.assert(
      fc.property(withForkPoint, ([scenario, at]: [ConnectionScenario, number]) => {
        const expected = runConnectionScenarioSync(scenario);
        const original = startScenario(scenario);
        scenario.commands.slice(0, at).forEach((command, index) => applyCommand(original, command, index));
        const fork = forkScenario(original);
        // The original runs to the end first: nothing it does may leak into the fork.
        scenario.commands.slice(at).forEach((command, offset) => applyCommand(original, command, at + offset));
        expectSameTrace(finishScenario(original, scenario.commands), expected);
        scenario.commands.slice(at).forEach((command, offset) => applyCommand(fork, command, at + offset));
        expectSameTrace(finishScenario(fork, scenario.commands), expected);
      }),
      { numRuns: Math.max(60, fc.readConfigureGlobal().numRuns! * 0.3) },
    );
  });

  // Found by `npm run fuzz` (seed -599803569): the fork read the time of its join answer from the
  // original's clock, which stands still once the original is stopped — its held message was
  // then handled at time 0, and the later one was accepted instead of rate limited.
  it.each(['runner', 'actor'] as const)('a fork tells the time by its own clock, not by its stopped original (%s)', (driver) => {
    const scenario: ConnectionScenario = {
      credentials: 'upgrade',
      limits: { ...DEFAULT_CONNECTION_LIMITS, authTimeoutMs: 94, backendTimeoutMs: 20, joinTimeoutMs: 100, heartbeatMs: 20, closeTimeoutMs: 20, maxEarlyFrames: 1, maxBadFrames: 1, messageRate: 5, messageBurst: 1 },
      priorEvents: 0,
      retainEvents: 1,
      commands: [{ kind: 'advance', ms: 93 }, { kind: 'message' }, { kind: 'backend', ok: true }, { kind: 'verify', ok: true }, { kind: 'advance', ms: 107 }, { kind: 'message' }],
    };
    const expected = runConnectionScenarioSync(scenario, { driver });
    const original = startScenario(scenario, { driver });
    const fork = forkScenario(original, { driver });
    original.actor.stop();
    scenario.commands.forEach((command, index) => applyCommand(fork, command, index));
    expectSameTrace(finishScenario(fork, scenario.commands), expected);
    expect(expected.effects.some((e) => e.kind === 'send' && e.frame.type === 'error' && e.frame.code === 'LOCKSTEP_E_RATE_LIMITED')).toBe(true);
  });

  // The runner (the default, as the server runs connections) and a full Actor (traced or inspected ones).
  it.each(['runner', 'actor'] as const)('a fork of a fork of a fork …, one per command, still runs like the original (%s)', (driver) => {
    fc.assert(
      fc.property(fc.oneof(connectionScenario(), shortTimers), (scenario) => {
        const expected = runConnectionScenarioSync(scenario, { driver });
        let run = startScenario(scenario, { driver });
        scenario.commands.forEach((command, index) => {
          const fork = forkScenario(run, { driver });
          run.actor.stop();
          run = fork;
          applyCommand(run, command, index);
        });
        expectSameTrace(finishScenario(run, scenario.commands), expected);
      }),
      { numRuns: Math.max(30, fc.readConfigureGlobal().numRuns! * 0.15) },
    );
  });
});
