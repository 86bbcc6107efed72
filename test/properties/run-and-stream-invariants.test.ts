/** I4, I5, I6 and I7 on the run handle and the delivery layer (StreamHub over MemoryEventLog). */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { runGrammarProperty } from '../../src/testing/run-properties.js';
import { runControlProperty } from '../../src/testing/run-control-properties.js';
import { streamDeliveryProperty } from '../../src/testing/stream-properties.js';

describe('I4 ordered, gap-free delivery (fan-out)', () => {
  it('every connection gets consecutive seqs from its starting point, all of them while joined', () => {
    fc.assert(streamDeliveryProperty({ invariants: ['I4'] }));
  });
});

describe('I5 complete resume', () => {
  it('a resume inside retention replays every missed event once, before live ones; outside, it says why', () => {
    fc.assert(streamDeliveryProperty({ invariants: ['I5'] }));
  });
});

describe('I6 run grammar', () => {
  it('whatever a handler calls, clients see a word of the grammar; refusals are exact and emit nothing', async () => {
    await fc.assert(runGrammarProperty());
  });
});

describe('I6 with cancels, approvals and deadlines (issue 15)', () => {
  it('accepted cancels end the run, answers resolve once, foreign requests are refused, no run outlives its deadlines', async () => {
    await fc.assert(runControlProperty());
  });
});

describe('I7 isolation', () => {
  it('a connection receives only its own user’s events', () => {
    fc.assert(streamDeliveryProperty({ invariants: ['I7'] }));
  });
});
