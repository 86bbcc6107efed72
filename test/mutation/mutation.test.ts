/**
 * The mutation check: each broken variant in ./mutants.ts is switched in, and the property of
 * the invariant it breaks must fail within the configured number of runs (FC_NUM_RUNS; 200 in
 * `npm test`). The shrunk counterexample is printed, so the report shows *how* it was caught.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connectionInvariantProperty, dataPathRefinementProperty } from '../../src/testing/properties.js';
import { EXPLORATION_LIMITS, exploreConnection } from '../../src/testing/connection-explorer.js';
import type { ConnectionInvariant } from '../../src/testing/connection-invariants.js';
import type { RunScenarioOptions } from '../../src/testing/connection-scenario.js';
import { runGrammarProperty } from '../../src/testing/run-properties.js';
import { runControlProperty } from '../../src/testing/run-control-properties.js';
import { streamDeliveryProperty } from '../../src/testing/stream-properties.js';
import {
  ApprovalAnsweredTwice,
  BoundarySkippingLog,
  CancelLeavesRunOpen,
  DeadlinesNeverArmed,
  failKeepsRunOpen,
  coalescingDropsADelta,
  completesWithToolOpen,
  earlyFramesDropped,
  handlerWhileHandshaking,
  handshakeReadsWhileVerifying,
  MisroutingHub,
  pathOutlivesFlowing,
  pathSkipsASeq,
  pathWritesBeforeReady,
  pathWritesWhenCongested,
  framePathBeforeReady,
  framePathIgnoresMachine,
  framePathIgnoresRateLimit,
  framePathOutlivesReady,
  sleepGate,
} from './mutants.js';

// A fixed seed keeps CI deterministic (FC_SEED overrides it); over 60 seeds the slowest mutant
// to catch (the sleep gate) needed a median of 24 runs and at most 121, below the default 200.
const seed = Number(process.env.FC_SEED ?? 20261123);

async function expectCaught(name: string, property: fc.IRawProperty<[unknown, ...unknown[]]>, invariant: string, numRuns?: number) {
  const details = await fc.check(property as fc.IAsyncProperty<[unknown]>, { seed, ...(numRuns === undefined ? {} : { numRuns }) });
  expect(details.failed, `${name} was not caught in ${details.numRuns} runs`).toBe(true);
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  expect(error).toContain(invariant);
  const report = (fc.defaultReportMessage(details) ?? '').split('\n').slice(0, 4).join('\n');
  console.log(`mutant "${name}" caught by ${invariant} after ${details.numRuns} run(s):\n${report}\n${error.split('\n').slice(0, 12).join('\n')}\n`);
}

describe('mutation check: every broken variant is caught', () => {
  it('handler invoked while handshaking → I1', async () => {
    await expectCaught('handler invoked while handshaking', connectionInvariantProperty(['I1'], { machine: handlerWhileHandshaking() }), 'I1:');
  });

  it('a handshake that reads frames while verifying the token → I1', async () => {
    await expectCaught('handshake reads while verifying', connectionInvariantProperty(['I1'], { machine: handshakeReadsWhileVerifying() }), 'I1:');
  });

  it('early frames dropped → I3', async () => {
    await expectCaught('early frames dropped', connectionInvariantProperty(['I3'], { machine: earlyFramesDropped() }), 'I3:');
  });

  it('a "sleep 25 ms" gate instead of a state → I1', async () => {
    await expectCaught('sleep 25 ms gate', connectionInvariantProperty(['I1'], sleepGate()), 'I1:');
  });

  it('replay that skips the boundary event → I5', async () => {
    const createLog = (retainEvents: number) => new BoundarySkippingLog({ retainEvents, now: () => 0 });
    await expectCaught('replay skips the boundary event', streamDeliveryProperty({ createLog, invariants: ['I5'] }), 'I4/I5:');
  });

  it('a coalesced frame that drops one delta → I5', async () => {
    await expectCaught('coalesced frame drops a delta', streamDeliveryProperty({ createHub: coalescingDropsADelta, invariants: ['I5'] }), 'I5:');
  });

  it('a cancel that leaves the run open → run control', async () => {
    await expectCaught('cancel leaves the run open', runControlProperty({ createOpenRuns: (limits, clock) => new CancelLeavesRunOpen(limits, clock) }), 'run control:');
  });

  it('an event emitted after a cancel reaching a client (agent_error not final) → run control', async () => {
    await expectCaught('event after cancel reaches a client', runControlProperty({ machine: failKeepsRunOpen() }), 'run control:');
  });

  it('an approval answered twice → run control', async () => {
    await expectCaught('approval answered twice', runControlProperty({ createOpenRuns: (limits, clock) => new ApprovalAnsweredTwice(limits, clock) }), 'run control:');
  });

  it('deadlines never armed → run control', async () => {
    await expectCaught('deadlines never armed', runControlProperty({ createOpenRuns: (limits, clock) => new DeadlinesNeverArmed(limits, clock) }), 'run control:');
  });

  it('an event routed to the wrong user → I7', async () => {
    await expectCaught('event routed to the wrong user', streamDeliveryProperty({ createHub: (log) => new MisroutingHub(log), invariants: ['I7'] }), 'I7:');
  });

  it('agent_completed accepted with a tool call open → I6', async () => {
    await expectCaught('agent_completed with a tool call open', runGrammarProperty({ machine: completesWithToolOpen() }), 'I6:');
  });

  // The data path runs with the machine in every property: its mutants are caught the same way.
  it('data path writes to a congested socket → I8', async () => {
    await expectCaught('data path writes when congested', connectionInvariantProperty(['I8'], { dataPath: pathWritesWhenCongested() }), 'I8:');
  });

  it('data path skips a seq → I4', async () => {
    await expectCaught('data path skips a seq', connectionInvariantProperty(['I4'], { dataPath: pathSkipsASeq() }), 'I4:');
  });

  // While congested its seq check stops it (the event it handed over was not written); once
  // the connection closes, the next event is the next seq: written after the close.
  it('data path keeps writing after the machine left flowing → I2', async () => {
    await expectCaught('data path outlives flowing', connectionInvariantProperty(['I2'], { dataPath: pathOutlivesFlowing() }), 'I2:');
  });

  it('data path writes before ready → I1', async () => {
    await expectCaught('data path writes before ready', connectionInvariantProperty(['I1'], { dataPath: pathWritesBeforeReady() }), 'I1:');
  });

  // The frame path (`message` frames while ready): caught by the invariants where it breaks
  // one, and by the refinement property where it only decides differently from the machine.
  it('frame path takes messages before ready → I1', async () => {
    await expectCaught('frame path before ready', connectionInvariantProperty(['I1'], { dataPath: framePathBeforeReady() }), 'I1:');
  });

  // A run started after the close writes nothing to this socket (its ack is handed to the
  // closing machine, which drops it): no invariant of the socket breaks, but the machine alone
  // would not have started it.
  it('frame path outlives ready (a run started after the close) → refinement', async () => {
    await expectCaught('frame path outlives ready', dataPathRefinementProperty({ dataPath: framePathOutlivesReady() }), 'data path:');
  });

  it('frame path skips the rate limit → refinement', async () => {
    await expectCaught('frame path ignores the rate limit', dataPathRefinementProperty({ dataPath: framePathIgnoresRateLimit() }), 'data path:');
  });

  // It needs the machine to have counted something the path did not see first (a message held
  // until ready, two refused frames in a row): over seeds 1–5 and the CI seed, 77–1,422 runs.
  it('frame path goes on from a stale count → refinement', async () => {
    await expectCaught('frame path ignores the machine', dataPathRefinementProperty({ dataPath: framePathIgnoresMachine() }), 'data path:', 3_000);
  });
});

/** The exhaustive exploration must find each connection mutant too, with its shortest sequence first found. */
function expectExplorerCatches(name: string, options: RunScenarioOptions, invariant: ConnectionInvariant) {
  const report = exploreConnection({ credentials: 'upgrade', limits: EXPLORATION_LIMITS, priorEvents: 0, retainEvents: 1 }, { ...options, depth: 3, invariants: [invariant] });
  expect(report.violation, `${name} was not caught in ${report.sequences} sequences`).toBeDefined();
  expect(report.violation!.violations[0]!.invariant).toBe(invariant);
  console.log(`mutant "${name}" caught by the exploration (${invariant}) after ${report.sequences} sequence(s): ${JSON.stringify(report.violation!.scenario.commands)}\n  ${report.violation!.violations[0]!.message}\n`);
}

describe('mutation check, exhaustive exploration (depth 3): every connection mutant is caught', () => {
  it('handler invoked while handshaking → I1', () => {
    expectExplorerCatches('handler invoked while handshaking', { machine: handlerWhileHandshaking() }, 'I1');
  });

  it('a handshake that reads frames while verifying the token → I1', () => {
    expectExplorerCatches('handshake reads while verifying', { machine: handshakeReadsWhileVerifying() }, 'I1');
  });

  it('early frames dropped → I3', () => {
    expectExplorerCatches('early frames dropped', { machine: earlyFramesDropped() }, 'I3');
  });

  it('a "sleep 25 ms" gate instead of a state → I1', () => {
    expectExplorerCatches('sleep 25 ms gate', sleepGate(), 'I1');
  });
});
