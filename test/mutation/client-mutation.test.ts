/**
 * The client mutation check: each broken client in ./client-mutants.ts is composed with the
 * server machines, and the person-at-the-screen property (I12) must fail for it within the
 * configured runs — and name what the person would have seen.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { personAtScreenProperty } from '../properties/client-arbitraries.js';
import type { ClientParts } from '../../src/client/create-client.js';
import { forgetsOutboxOnReload, marksNothingInterrupted, resendsWithNewId, resumesFromWrongSeq } from './client-mutants.js';

const seed = Number(process.env.FC_SEED ?? 20261202);

function expectCaught(name: string, parts: Partial<ClientParts>, expected: RegExp) {
  const details = fc.check(personAtScreenProperty(parts), { seed });
  expect(details.failed, `${name} was not caught in ${details.numRuns} runs`).toBe(true);
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  expect(error).toMatch(expected);
  console.log(`client mutant "${name}" caught after ${details.numRuns} run(s): ${error.slice(0, 300)}\n  counterexample: ${JSON.stringify(details.counterexample).slice(0, 600)}\n`);
}

describe('client mutation check: every broken client is caught by I12', () => {
  it('re-sends with a new id → a message runs twice (or one the app never sent)', () => {
    expectCaught('re-sends with a new id', resendsWithNewId, /I12 message/);
  });

  it('forgets the outbox on reload → a message never runs', () => {
    expectCaught('forgets the outbox on reload', forgetsOutboxOnReload, /I12 message: m\d+ never ran/);
  });

  it('resumes from the wrong seq → an event is never shown, or a hole is reported inside a live stream', () => {
    expectCaught('resumes from the wrong seq', resumesFromWrongSeq, /I12 events/);
  });

  it('marks nothing interrupted → a run stays open after its end was missed', () => {
    expectCaught('marks nothing interrupted', marksNothingInterrupted, /I12 runs/);
  });
});
