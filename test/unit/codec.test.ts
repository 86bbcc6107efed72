import { describe, expect, it } from 'vitest';
import { decodeClientFrame, encodeServerFrame, MESSAGE_ID_MAX, MESSAGE_METADATA_MAX_BYTES } from '../../src/protocol/codec.js';
import { ErrorCodes } from '../../src/protocol/errors.js';

const j = (value: unknown) => JSON.stringify(value);

describe('decodeClientFrame: refusals before the type switch', () => {
  it('binary (null) → LOCKSTEP_E_BINARY_UNSUPPORTED with the registry message, no ref', () => {
    expect(decodeClientFrame(null)).toEqual({
      ok: false,
      code: 'LOCKSTEP_E_BINARY_UNSUPPORTED',
      message: ErrorCodes.LOCKSTEP_E_BINARY_UNSUPPORTED.message,
    });
  });

  it.each(['', '{', '{"type":"ping"', 'undefined', "{'type':'ping'}", 'ping'])('not JSON %j → LOCKSTEP_E_BAD_JSON', (raw) => {
    expect(decodeClientFrame(raw)).toEqual({ ok: false, code: 'LOCKSTEP_E_BAD_JSON', message: ErrorCodes.LOCKSTEP_E_BAD_JSON.message });
  });

  it.each([
    ['null', 'null'],
    ['number', '42'],
    ['string', '"ping"'],
    ['boolean', 'true'],
    ['array', j([{ type: 'ping' }])],
    ['object without type', j({ id: 'x' })],
    ['numeric type', j({ type: 1 })],
    ['null type', j({ type: null })],
    ['object type', j({ type: { name: 'ping' } })],
  ])('%s → LOCKSTEP_E_BAD_FRAME (expected an object with a string "type")', (_name, raw) => {
    const result = decodeClientFrame(raw);
    expect(result).toEqual({
      ok: false,
      code: 'LOCKSTEP_E_BAD_FRAME',
      message: `${ErrorCodes.LOCKSTEP_E_BAD_FRAME.message}: expected an object with a string "type"`,
    });
  });
});

describe('decodeClientFrame: auth', () => {
  it('accepts a non-empty string token and drops extra fields', () => {
    expect(decodeClientFrame(j({ type: 'auth', token: 'abc', extra: 1 }))).toEqual({ ok: true, frame: { type: 'auth', token: 'abc' } });
  });

  it.each([
    ['missing token', { type: 'auth' }],
    ['empty token', { type: 'auth', token: '' }],
    ['numeric token', { type: 'auth', token: 5 }],
    ['null token', { type: 'auth', token: null }],
  ])('%s → BAD_FRAME, no ref', (_name, value) => {
    const result = decodeClientFrame(j(value));
    expect(result).toEqual({
      ok: false,
      code: 'LOCKSTEP_E_BAD_FRAME',
      message: `${ErrorCodes.LOCKSTEP_E_BAD_FRAME.message}: auth needs a non-empty string "token"`,
    });
  });
});

describe('decodeClientFrame: message', () => {
  it('accepts id + text (empty text allowed), drops extra fields', () => {
    expect(decodeClientFrame(j({ type: 'message', id: 'm1', text: '', meta: true }))).toEqual({
      ok: true,
      frame: { type: 'message', id: 'm1', text: '' },
    });
  });

  it(`accepts an id of exactly ${MESSAGE_ID_MAX} characters`, () => {
    const id = 'a'.repeat(MESSAGE_ID_MAX);
    expect(decodeClientFrame(j({ type: 'message', id, text: 'x' }))).toEqual({ ok: true, frame: { type: 'message', id, text: 'x' } });
  });

  it('missing id → BAD_FRAME without ref', () => {
    const result = decodeClientFrame(j({ type: 'message', text: 'x' }));
    expect(result).toMatchObject({ ok: false, code: 'LOCKSTEP_E_BAD_FRAME' });
    expect(result).not.toHaveProperty('ref');
    expect(!result.ok && result.message).toContain(`message needs a string "id" of 1–${MESSAGE_ID_MAX} characters`);
  });

  it('non-string id → BAD_FRAME without ref', () => {
    const result = decodeClientFrame(j({ type: 'message', id: 7, text: 'x' }));
    expect(result).toMatchObject({ ok: false, code: 'LOCKSTEP_E_BAD_FRAME' });
    expect(result).not.toHaveProperty('ref');
  });

  it('empty id → BAD_FRAME with ref ""', () => {
    expect(decodeClientFrame(j({ type: 'message', id: '', text: 'x' }))).toMatchObject({ ok: false, code: 'LOCKSTEP_E_BAD_FRAME', ref: '' });
  });

  it(`id over ${MESSAGE_ID_MAX} characters → BAD_FRAME with ref truncated to ${MESSAGE_ID_MAX}`, () => {
    const id = 'b'.repeat(MESSAGE_ID_MAX + 50);
    const result = decodeClientFrame(j({ type: 'message', id, text: 'x' }));
    expect(result).toMatchObject({ ok: false, code: 'LOCKSTEP_E_BAD_FRAME', ref: 'b'.repeat(MESSAGE_ID_MAX) });
  });

  it.each([
    ['missing text', { type: 'message', id: 'r' }],
    ['numeric text', { type: 'message', id: 'r', text: 1 }],
    ['object text', { type: 'message', id: 'r', text: { a: 1 } }],
  ])('%s → BAD_FRAME with ref = id', (_name, value) => {
    expect(decodeClientFrame(j(value))).toEqual({
      ok: false,
      code: 'LOCKSTEP_E_BAD_FRAME',
      message: `${ErrorCodes.LOCKSTEP_E_BAD_FRAME.message}: message needs a string "text"`,
      ref: 'r',
    });
  });
});

describe('decodeClientFrame: ping', () => {
  it('without id → { type: ping } (no id key)', () => {
    const result = decodeClientFrame(j({ type: 'ping' }));
    expect(result).toEqual({ ok: true, frame: { type: 'ping' } });
    expect(result.ok && 'id' in result.frame).toBe(false);
  });

  it('with string id (also empty) → kept; extra fields dropped', () => {
    expect(decodeClientFrame(j({ type: 'ping', id: 'p1', x: 1 }))).toEqual({ ok: true, frame: { type: 'ping', id: 'p1' } });
    expect(decodeClientFrame(j({ type: 'ping', id: '' }))).toEqual({ ok: true, frame: { type: 'ping', id: '' } });
  });

  it.each([5, null, true, {}])('id %j → BAD_FRAME', (id) => {
    expect(decodeClientFrame(j({ type: 'ping', id }))).toEqual({
      ok: false,
      code: 'LOCKSTEP_E_BAD_FRAME',
      message: `${ErrorCodes.LOCKSTEP_E_BAD_FRAME.message}: ping "id" must be a string when present`,
    });
  });
});

describe('decodeClientFrame: unknown types', () => {
  it.each(['subscribe', 'Auth', 'PING', '', 'ready', 'pong'])('type %j → UNKNOWN_TYPE naming the type', (type) => {
    expect(decodeClientFrame(j({ type }))).toEqual({
      ok: false,
      code: 'LOCKSTEP_E_UNKNOWN_TYPE',
      message: `${ErrorCodes.LOCKSTEP_E_UNKNOWN_TYPE.message}: "${type}"`,
    });
  });

  it('a long type name is cut to 64 characters in the message', () => {
    const type = 'x'.repeat(200);
    const result = decodeClientFrame(j({ type }));
    expect(result).toMatchObject({ ok: false, code: 'LOCKSTEP_E_UNKNOWN_TYPE' });
    expect(!result.ok && result.message).toBe(`${ErrorCodes.LOCKSTEP_E_UNKNOWN_TYPE.message}: "${'x'.repeat(64)}"`);
  });
});

describe('encodeServerFrame', () => {
  it('is plain JSON that round-trips', () => {
    const frame = { type: 'ack', id: 'm', runId: 'c1.1' } as const;
    expect(JSON.parse(encodeServerFrame(frame))).toEqual(frame);
    expect(encodeServerFrame({ type: 'pong' })).toBe('{"type":"pong"}');
  });
});

describe('encodeEventFrame', () => {
  it('is the same text as encoding the event frame object, for every tab of the user', async () => {
    const { encodeEventFrame, encodeServerFrame } = await import('../../src/protocol/codec.js');
    const event = { seq: 3, runId: 'c.1', event: 'agent_thinking' as const, data: { text: 'héllo "x"', n: [1, 2] }, ts: 17 };
    expect(encodeEventFrame(event)).toBe(encodeServerFrame({ type: 'event', ...event }));
    expect(encodeEventFrame({ ...event, data: {} })).toBe(encodeServerFrame({ type: 'event', ...event, data: {} }));
    expect(JSON.parse(encodeEventFrame(event))).toEqual({ type: 'event', ...event });
  });

  it('encodeEventFrameBytes (the server\'s) is its UTF-8 bytes: multi-byte text, lone surrogates, frames past the buffer pool', async () => {
    const { encodeEventFrame } = await import('../../src/protocol/codec.js');
    const { encodeEventFrameBytes } = await import('../../src/adapter/event-frame-bytes.js');
    const texts = ['', 'plain', 'héllo "x" \\ \n', '日本語の回答 🚀🚀', 'lone \ud800 and \udfff surrogates', 'x'.repeat(5000), '€'.repeat(3000)];
    texts.forEach((text, i) => {
      const event = { seq: i + 1, runId: 'c.1', event: 'text_delta' as const, data: { delta: text }, ts: 17 + i };
      const bytes = encodeEventFrameBytes(event);
      expect(bytes.equals(Buffer.from(encodeEventFrame(event))), `text #${i}`).toBe(true);
      // Every tab of the user is written the same bytes.
      expect(encodeEventFrameBytes(event)).toBe(bytes);
    });
  });
});

describe('decodeClientFrame: message threadId and metadata (issue 15 item 6)', () => {
  it('keeps threadId and metadata exactly as sent', () => {
    const metadata = { a: [1, 'two', null], b: { c: true } };
    expect(decodeClientFrame(j({ type: 'message', id: 'm', text: 't', threadId: 'th', metadata }))).toEqual({
      ok: true,
      frame: { type: 'message', id: 'm', text: 't', threadId: 'th', metadata },
    });
  });

  it.each([
    ['empty threadId', { threadId: '' }],
    ['numeric threadId', { threadId: 1 }],
    ['threadId of 129 characters', { threadId: 'x'.repeat(129) }],
    ['array metadata', { metadata: [1] }],
    ['string metadata', { metadata: 'x' }],
    ['null metadata', { metadata: null }],
  ])('%s → LOCKSTEP_E_BAD_FRAME with the message id as ref', (_name, extra) => {
    expect(decodeClientFrame(j({ type: 'message', id: 'm', text: 't', ...extra }))).toMatchObject({ ok: false, code: 'LOCKSTEP_E_BAD_FRAME', ref: 'm' });
  });

  it('metadata over MESSAGE_METADATA_MAX_BYTES of UTF-8 JSON → LOCKSTEP_E_METADATA_TOO_LARGE', () => {
    const at = { p: 'x'.repeat(MESSAGE_METADATA_MAX_BYTES - 8) };
    expect(decodeClientFrame(j({ type: 'message', id: 'm', text: 't', metadata: at })).ok).toBe(true);
    const over = { p: 'x'.repeat(MESSAGE_METADATA_MAX_BYTES - 9) + 'é' };
    expect(decodeClientFrame(j({ type: 'message', id: 'm', text: 't', metadata: over }))).toMatchObject({ ok: false, code: 'LOCKSTEP_E_METADATA_TOO_LARGE', ref: 'm' });
  });
});

describe('approve frames', () => {
  it('decodes the answer and its data', () => {
    expect(decodeClientFrame('{"type":"approve","runId":"r","toolCallId":"t","approved":false}')).toEqual({ ok: true, frame: { type: 'approve', runId: 'r', toolCallId: 't', approved: false } });
    expect(decodeClientFrame('{"type":"approve","runId":"r","toolCallId":"t","approved":true,"data":{"n":1}}')).toEqual({ ok: true, frame: { type: 'approve', runId: 'r', toolCallId: 't', approved: true, data: { n: 1 } } });
  });

  it.each([
    ['{"type":"approve","toolCallId":"t","approved":true}', undefined, 'runId'],
    ['{"type":"approve","runId":"r","approved":true}', 'r', 'toolCallId'],
    ['{"type":"approve","runId":"r","toolCallId":"t","approved":"yes"}', 'r', 'approved'],
    [`{"type":"approve","runId":"r","toolCallId":"t","approved":true,"data":"${'x'.repeat(16 * 1024)}"}`, 'r', 'at most 16384'],
  ])('refuses %s as a bad frame naming what is wrong', (raw, ref, says) => {
    const result = decodeClientFrame(raw);
    expect(result).toMatchObject({ ok: false, code: 'LOCKSTEP_E_BAD_FRAME', message: expect.stringContaining(says) });
    expect((result as { ref?: string }).ref).toBe(ref);
  });
});

