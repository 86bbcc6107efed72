// The trace file's contract: what parseTrace refuses, what redaction changes (only tokens),
// and the `record` option's validation.
import { describe, expect, it } from 'vitest';
import { decodeClientFrame } from '../../src/protocol/codec.js';
import { resolveOptions } from '../../src/server/options.js';
import { parseTrace, REDACTED, TRACE_FORMAT, TRACE_VERSION } from '../../src/trace/format.js';
import { redactFrame } from '../../src/trace/redact.js';
import { replayTrace } from '../../src/testing/replay.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';

const minimal = () => ({
  format: TRACE_FORMAT,
  version: TRACE_VERSION,
  connectionId: 'c-1',
  startedAt: '2026-01-01T00:00:00.000Z',
  input: { token: REDACTED, credentials: 'header', resume: null, limits: { ...DEFAULT_CONNECTION_LIMITS } },
  entries: [] as unknown[],
  effects: [] as unknown[],
  truncated: false,
  final: { status: 'active', state: 'handshaking', closeCode: null, closeReason: null, peerCloseCode: null },
});

describe('parseTrace', () => {
  it.each([
    ['not an object', 42, /expected a JSON object/],
    ['another format', { ...minimal(), format: 'har' }, /"format" must be "lockstep.trace"/],
    ['another version', { ...minimal(), version: 6 }, /"version" 6 is not supported \(this lockstep reads versions 1, 2, 3, 4, 5\)/],
    ['a verify entry in a version 4 trace', { ...minimal(), entries: [{ at: 0, kind: 'verify', result: { ok: true, userId: 'u' } }] }, /"verify" entries exist up to trace version 3/],
    ['a backend entry in a version 4 trace', { ...minimal(), entries: [{ at: 0, kind: 'backend', result: { ok: true } }] }, /"backend" entries exist up to trace version 3/],
    ['a refresh entry in a version 1 trace', { ...minimal(), version: 1, entries: [{ at: 0, kind: 'refresh', result: { ok: true, userId: 'u' } }] }, /"refresh" entries need trace version 2/],
    ['a refresh outcome without ok', { ...minimal(), entries: [{ at: 0, kind: 'refresh', result: { userId: 'u' } }] }, /entries\[0\]\.result/],
    ['an unknown entry kind', { ...minimal(), entries: [{ at: 0, kind: 'teleport' }] }, /entries\[0\] must have a kind/],
    ['time going backwards', { ...minimal(), entries: [{ at: 5, kind: 'event', event: { type: 'socket.pong' } }, { at: 4, kind: 'event', event: { type: 'socket.pong' } }] }, /entries\[1\]\.at/],
    ['a missing limit', { ...minimal(), input: { ...minimal().input, limits: { ...DEFAULT_CONNECTION_LIMITS, heartbeatMs: undefined } } }, /input\.limits\.heartbeatMs/],
    ['an outcome without ok', { ...minimal(), version: 3, entries: [{ at: 0, kind: 'verify', result: { userId: 'u' } }] }, /entries\[0\]\.result/],
    ['an event without a type', { ...minimal(), entries: [{ at: 0, kind: 'event', event: {} }] }, /entries\[0\]\.event/],
  ])('refuses %s with LOCKSTEP_ERR_INVALID_TRACE', (_, value, message) => {
    expect(() => parseTrace(value)).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_TRACE', message: expect.stringMatching(message) }));
  });

  it.each([
    ['version 4: the refusal is an event', TRACE_VERSION, { at: 3, kind: 'event', event: { type: 'auth.refused', reason: 'expired' } }],
    ['version 3: the verify entry of the old handshake child is read as that event', 3, { at: 3, kind: 'verify', result: { ok: false, error: 'expired' } }],
  ])('replays a hand-written trace (%s): a verifier that rejects closes 4401', (_, version, refusal) => {
    const trace = {
      ...minimal(),
      version,
      entries: [
        refusal,
        { at: 4, kind: 'event', event: { type: 'socket.close', code: 4401, reason: 'unauthorized' } },
      ],
      effects: [
        { type: 'leaveStream', params: { connectionId: 'c-1' } },
        { type: 'closeSocket', params: { code: 4401, reason: 'unauthorized' } },
        { type: 'leaveStream', params: { connectionId: 'c-1' } },
      ],
      final: { status: 'done', state: 'closed', closeCode: 4401, closeReason: 'unauthorized', peerCloseCode: 4401 },
    };
    const result = replayTrace(trace);
    expect(result.divergences).toEqual([]);
    expect(result.steps.map((s) => `${s.before} → ${s.after}`)).toEqual([
      'handshaking(authenticating.verifying) → closing',
      'closing → closed',
    ]);
  });

  it('reads a version 2 trace as version 3: its rateRefill delays (a timer then) are left out, its frames are timed at their entry', () => {
    const frame = { type: 'socket.frame', data: '{"type":"ping"}' };
    const parsed = parseTrace({
      ...minimal(),
      version: 2,
      entries: [
        { at: 5, kind: 'event', event: frame },
        { at: 55, kind: 'delay', actor: 'connection', delay: 'rateRefill', event: 'xstate.after.rateRefill.connection.ready.messageRate.refilling' },
        { at: 60, kind: 'event', event: { ...frame, atMs: 1 } },
      ],
    });
    expect(parsed.entries).toEqual([
      { at: 5, kind: 'event', event: { ...frame, atMs: 5 } },
      { at: 60, kind: 'event', event: { ...frame, atMs: 1 } },
    ]);
  });

  it('reads a version 3 trace as version 5: the handshake child\'s and the refresh\'s outcomes are events, its delays the connection\'s', () => {
    const parsed = parseTrace({
      ...minimal(),
      version: 3,
      entries: [
        { at: 1, kind: 'verify', result: { ok: true, userId: 'u', expiresAt: 9000, verifiedAt: 1000 } },
        { at: 2, kind: 'verify', result: { ok: true, userId: null } },
        { at: 3, kind: 'verify', result: { ok: false, error: 'bad signature' } },
        { at: 4, kind: 'backend', result: { ok: true } },
        { at: 5, kind: 'backend', result: { ok: false, error: 'down' } },
        { at: 6, kind: 'delay', actor: 'handshake', delay: 'authTimeout', event: 'xstate.after.authTimeout.handshake.authenticating' },
        { at: 7, kind: 'delay', actor: 'handshake', delay: 'backendTimeout', event: 'xstate.after.backendTimeout.handshake.checkingBackend' },
        { at: 8, kind: 'delay', actor: 'connection', delay: 'closeTimeout', event: 'xstate.after.closeTimeout.connection.closing' },
        { at: 9, kind: 'refresh', result: { ok: true, userId: 'u' } },
        { at: 10, kind: 'refresh', result: { ok: false, error: 'bad token' } },
      ],
    });
    expect(parsed.entries).toEqual([
      { at: 1, kind: 'event', event: { type: 'auth.verified', userId: 'u', expiresAt: 9000, verifiedAt: 1000 } },
      { at: 2, kind: 'event', event: { type: 'auth.verified', userId: null } },
      { at: 3, kind: 'event', event: { type: 'auth.refused', reason: 'bad signature' } },
      { at: 4, kind: 'event', event: { type: 'backend.ready' } },
      { at: 5, kind: 'event', event: { type: 'backend.unavailable', reason: 'down' } },
      { at: 6, kind: 'delay', actor: 'connection', delay: 'authTimeout', event: 'xstate.after.authTimeout.connection.handshaking.authenticating' },
      { at: 7, kind: 'delay', actor: 'connection', delay: 'backendTimeout', event: 'xstate.after.backendTimeout.connection.handshaking.checkingBackend' },
      { at: 8, kind: 'delay', actor: 'connection', delay: 'closeTimeout', event: 'xstate.after.closeTimeout.connection.closing' },
      { at: 9, kind: 'event', event: { type: 'refresh.verified', userId: 'u' } },
      { at: 10, kind: 'event', event: { type: 'refresh.refused', reason: 'bad token' } },
    ]);
  });

  it('a version 3 trace whose handshake timed out replays: the old child\'s delay is the connection\'s', () => {
    const limits = { ...DEFAULT_CONNECTION_LIMITS, authTimeoutMs: 10 };
    const trace = {
      ...minimal(),
      version: 3,
      input: { ...minimal().input, limits },
      entries: [{ at: 10, kind: 'delay', actor: 'handshake', delay: 'authTimeout', event: 'xstate.after.authTimeout.handshake.authenticating' }],
      effects: [
        { type: 'leaveStream', params: { connectionId: 'c-1' } },
        { type: 'closeSocket', params: { code: 4408, reason: 'auth timeout' } },
      ],
      final: { status: 'active', state: 'closing', closeCode: 4408, closeReason: 'auth timeout', peerCloseCode: null },
    };
    expect(replayTrace(trace).divergences).toEqual([]);
  });

  it('a delay the recording says fired, but that is not due in the replay, is a divergence', () => {
    const trace = {
      ...minimal(),
      entries: [{ at: 10, kind: 'delay', actor: 'connection', delay: 'authTimeout', event: 'xstate.after.authTimeout.connection.handshaking.authenticating' }],
    };
    const result = replayTrace(trace);
    expect(result.divergences[0]).toMatchObject({ what: 'entries', message: expect.stringMatching(/entry #0 at \+10ms/) });
  });
});

describe('redactFrame', () => {
  it('redacts a token under an escaped key (tok\\u0065n) and every duplicate key, as JSON.parse reads it', () => {
    const raw = '{"type":"auth","tok\\u0065n":"jwt-one","token":"jwt-two"}';
    expect(decodeClientFrame(raw)).toEqual({ ok: true, frame: { type: 'auth', token: 'jwt-two' } });
    const redacted = redactFrame(raw, new Set());
    expect(redacted.data).not.toContain('jwt-');
    expect(redacted.token).toBe('jwt-two');
    expect(decodeClientFrame(redacted.data)).toEqual({ ok: true, frame: { type: 'auth', token: REDACTED } });
  });

  it('redacts a frame nested 20 000 deep without recursion, and the codec refuses it with LOCKSTEP_E_FRAME_TOO_DEEP', () => {
    const raw = `{"type":"auth","token":"x-secret","pad":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const redacted = redactFrame(raw, new Set());
    expect(redacted.token).toBe('x-secret');
    expect(redacted.data).not.toContain('x-secret');
    expect(redacted.data?.length).toBe(raw.length - '"x-secret"'.length + JSON.stringify(REDACTED).length);
    expect(decodeClientFrame(raw)).toMatchObject({ ok: false, code: 'LOCKSTEP_E_FRAME_TOO_DEEP' });
    // Brackets inside strings do not count.
    expect(decodeClientFrame(JSON.stringify({ type: 'message', id: 'm', text: '['.repeat(100) }))).toMatchObject({ ok: true });
  });

  it('replaces the token of an auth frame and keeps what the frame decodes to otherwise', () => {
    const raw = JSON.stringify({ type: 'auth', token: 's3cr3t-token' });
    const redacted = redactFrame(raw, new Set());
    expect(redacted).toEqual({ data: `{"type":"auth","token":"${REDACTED}"}`, token: 's3cr3t-token' });
    expect(decodeClientFrame(redacted.data)).toEqual({ ok: true, frame: { type: 'auth', token: REDACTED } });
  });

  it('leaves frames without a token alone, keeps an invalid empty token invalid, scrubs known tokens from non-JSON text', () => {
    const message = JSON.stringify({ type: 'message', id: 'm', text: 'hi' });
    expect(redactFrame(message, new Set(['hi']))).toEqual({ data: message, token: undefined });
    const empty = JSON.stringify({ type: 'auth', token: '' });
    expect(redactFrame(empty, new Set()).data).toBe(empty);
    expect(redactFrame('Bearer s3cr3t-token', new Set(['s3cr3t-token'])).data).toBe(`Bearer ${REDACTED}`);
    expect(redactFrame(null, new Set()).data).toBeNull();
  });
});

describe('record option', () => {
  it('is off by default and validated when given', () => {
    expect(resolveOptions({ auth: 'dev' }).record).toBeUndefined();
    expect(resolveOptions({ auth: 'dev', record: { dir: '/tmp/x' } }).record).toEqual({ target: { dir: '/tmp/x' }, maxEntries: 10_000, maxBytes: 8 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 });
    expect(() => resolveOptions({ auth: 'dev', record: { dir: '' } })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION' }));
    expect(() => resolveOptions({ auth: 'dev', record: { dir: '/tmp/x', maxEntries: 0 } })).toThrow(/record.maxEntries/);
  });
});
