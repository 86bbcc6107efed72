/**
 * The connection invariants over random scenarios against the pure connection machine:
 * frames, binary and garbage, auth results, backend ready/fail, stream events with the
 * socket's buffer, drains, pongs, clock advances (SimulatedClock), peer closes, socket errors
 * and shutdown, each checked after every step (see src/testing/connection-invariants.ts).
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { connectionInvariantProperty, dataPathRefinementProperty } from '../../src/testing/properties.js';

describe('I1 no receive before accept', () => {
  it('the handler never runs before ready, and ready is the first frame', () => {
    fc.assert(connectionInvariantProperty(['I1']));
  });
});

describe('I2 no send outside the open window', () => {
  it('nothing is written after the close began or the socket went away', () => {
    fc.assert(connectionInvariantProperty(['I2']));
  });
});

describe('I3 no silent loss of client frames', () => {
  it('every message is handled or refused exactly once, in order, or the close has a code', () => {
    fc.assert(connectionInvariantProperty(['I3']));
  });
});

describe('I4 ordered, gap-free delivery (one connection, with backpressure)', () => {
  it('events go out with consecutive seqs from ready.lastSeq; a flowing connection has them all', () => {
    fc.assert(connectionInvariantProperty(['I4']));
  });
});

describe('I8 bounded memory (one connection)', () => {
  it('held frames and lag never exceed their limits', () => {
    fc.assert(connectionInvariantProperty(['I8']));
  });
});

describe('I9 no 1011 from races', () => {
  it('no action throws, backend trouble is 1013, every close code is documented', () => {
    fc.assert(connectionInvariantProperty(['I9']));
  });
});

describe('I10 liveness', () => {
  it('a silent peer is given up on, and the actor reaches closed', () => {
    fc.assert(connectionInvariantProperty(['I10']));
  });
});

describe('the data path refines the machine', () => {
  it('machine + data path (events, acks, message frames) do exactly what the machine alone does: same effects, same order, same states', () => {
    fc.assert(dataPathRefinementProperty());
  });
});
