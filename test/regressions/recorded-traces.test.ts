/**
 * Every trace in this folder is a recorded connection — a race, an incident — kept as a
 * permanent test: replaying it against today's machines must reproduce the recorded
 * transitions, frames and close code exactly (traces.md here says how to add one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectionMachine } from '../../machines/connection.js';
import { replayTrace } from '../../src/testing/replay.js';
import { formatReplay } from '../../src/testing/replay-report.js';

const folder = new URL('./', import.meta.url);
const files = readdirSync(folder).filter((file) => file.endsWith('.trace.json')).sort();

describe('test/regressions: recorded traces replay exactly', () => {
  it('holds at least one trace', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', (file) => {
    const result = replayTrace(JSON.parse(readFileSync(new URL(file, folder), 'utf8')));
    // On failure the message carries the whole replay, transition by transition.
    expect(result.divergences, formatReplay(result).join('\n')).toEqual([]);
    // I1 on every recorded connection: nothing is sent before `ready`, and the handler is
    // invoked only after it.
    const firstFrame = result.effects.findIndex((e) => e.type === 'sendFrame');
    const firstHandler = result.effects.findIndex((e) => e.type === 'invokeHandler');
    if (firstFrame !== -1) expect(result.effects[firstFrame]).toMatchObject({ params: { frame: { type: 'ready' } } });
    if (firstHandler !== -1) expect(firstHandler).toBeGreaterThan(firstFrame);
  });

  it('early-message-before-backend-ready.trace.json still shows the race it was recorded for', () => {
    const result = replayTrace(JSON.parse(readFileSync(new URL('early-message-before-backend-ready.trace.json', folder), 'utf8')));
    const frame = result.steps.find((s) => s.entry.kind === 'event' && s.entry.event.type === 'socket.frame');
    // Recorded as version 1 (the handshake child's `backend` entry): read as the `backend.ready` event.
    const backend = result.steps.find((s) => s.entry.kind === 'event' && s.entry.event.type === 'backend.ready');
    expect(frame?.before).toMatch(/^handshaking/);
    expect(frame?.effects).toEqual([]); // held, not handled
    expect(backend && frame && backend.index > frame.index).toBe(true);
  });

  it('would catch the bug it pins: a machine that drops held frames diverges from the recording', () => {
    const dropsEarlyFrames = connectionMachine.provide({ actions: { releaseEarlyFrames: () => {} } });
    const trace = JSON.parse(readFileSync(new URL('early-message-before-backend-ready.trace.json', folder), 'utf8'));
    const result = replayTrace(trace, { machine: dropsEarlyFrames });
    expect(result.ok).toBe(false);
    // The first difference: the recording invoked the handler for the held message; the variant did not.
    expect(result.divergences[0]).toMatchObject({ what: 'effects', expected: { type: 'invokeHandler' } });
  });
});
