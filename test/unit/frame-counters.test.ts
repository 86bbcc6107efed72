/**
 * The connection's frame counters (machines/frame-counters.ts): the lazy token bucket at its
 * boundaries, run ids, the bad-frame count, and the rule for a `message` frame that both the
 * machine and the frame path apply.
 */
import { describe, expect, it } from 'vitest';
import {
  connectionTokens,
  countersAfterMessage,
  countersAfterRefusedFrame,
  countersAfterValidFrame,
  FRESH_FRAME_COUNTERS,
  messageRefusal,
  runIdOf,
} from '../../machines/frame-counters.js';

const limits = { messageRate: 10, messageBurst: 2 };

describe('the connection bucket', () => {
  it('starts full, spends one token per message, refills at messageRate per second from the last spend, never above the burst', () => {
    expect(connectionTokens(FRESH_FRAME_COUNTERS, 0, limits)).toBe(2);
    const one = countersAfterMessage(FRESH_FRAME_COUNTERS, 1_000, limits);
    const two = countersAfterMessage(one, 1_000, limits);
    expect(connectionTokens(two, 1_000, limits)).toBe(0);
    expect(connectionTokens(two, 1_050, limits)).toBeCloseTo(0.5);
    expect(connectionTokens(two, 1_100, limits)).toBeCloseTo(1);
    expect(connectionTokens(two, 60_000, limits)).toBe(2);
    // A clock that went backwards refills nothing (and takes nothing).
    expect(connectionTokens(two, 900, limits)).toBe(0);
  });

  it('without a time fact nothing refills; a refused frame with one starts the refill of a bucket spent while time was unknown', () => {
    const untimed = countersAfterMessage(countersAfterMessage(FRESH_FRAME_COUNTERS, undefined, limits), undefined, limits);
    expect(untimed.bucket).toEqual({ tokens: 0, atMs: undefined });
    expect(connectionTokens(untimed, 10_000, limits)).toBe(0);
    const refused = countersAfterRefusedFrame(untimed, 10_000);
    expect(refused.bucket).toEqual({ tokens: 0, atMs: 10_000 });
    expect(connectionTokens(refused, 10_100, limits)).toBeCloseTo(1);
  });
});

describe('the message rule', () => {
  it('refuses for the user bucket first, then the connection bucket; accepts with a token in both', () => {
    expect(messageRefusal(FRESH_FRAME_COUNTERS, { atMs: 0 }, limits)).toBeUndefined();
    expect(messageRefusal(FRESH_FRAME_COUNTERS, { atMs: 0, userTokens: 0.99 }, limits)).toBe('user');
    const empty = { ...FRESH_FRAME_COUNTERS, bucket: { tokens: 0.99, atMs: 0 } };
    expect(messageRefusal(empty, { atMs: 0, userTokens: 5 }, limits)).toBe('connection');
    expect(messageRefusal(empty, { atMs: 1, userTokens: 5 }, limits)).toBeUndefined();
    expect(messageRefusal(empty, { atMs: 0, userTokens: 0 }, limits)).toBe('user');
  });

  it('counts runs and bad frames: +1 per refused frame, −1 per valid one, never below 0', () => {
    const bad = countersAfterRefusedFrame(countersAfterRefusedFrame(FRESH_FRAME_COUNTERS));
    expect(bad.badFrames).toBe(2);
    expect(countersAfterValidFrame(bad).badFrames).toBe(1);
    expect(countersAfterValidFrame(FRESH_FRAME_COUNTERS)).toBe(FRESH_FRAME_COUNTERS);
    const message = countersAfterMessage(bad, 0, limits);
    expect(message).toMatchObject({ runCount: 1, badFrames: 1 });
    expect(runIdOf('c1', message.runCount)).toBe('c1.1');
  });
});
