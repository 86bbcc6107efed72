import { describe, expect, it } from 'vitest';
import { decodeClientFrame } from '../../src/protocol/codec.js';
import { credentialsFromUpgrade, selectSubprotocol } from '../../src/protocol/credentials.js';

describe('decodeClientFrame', () => {
  it.each([
    [JSON.stringify({ type: 'auth', token: 't' }), { ok: true, frame: { type: 'auth', token: 't' } }],
    [JSON.stringify({ type: 'message', id: 'i', text: '' }), { ok: true, frame: { type: 'message', id: 'i', text: '' } }],
    [JSON.stringify({ type: 'ping' }), { ok: true, frame: { type: 'ping' } }],
    [JSON.stringify({ type: 'ping', id: 'p' }), { ok: true, frame: { type: 'ping', id: 'p' } }],
  ])('accepts %s', (raw, expected) => {
    expect(decodeClientFrame(raw)).toEqual(expected);
  });

  it.each([
    [null, 'LOCKSTEP_E_BINARY_UNSUPPORTED'],
    ['{', 'LOCKSTEP_E_BAD_JSON'],
    ['[]', 'LOCKSTEP_E_BAD_FRAME'],
    ['"message"', 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 5 }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'auth', token: '' }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'message', id: '', text: 'x' }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'message', id: 'x'.repeat(129), text: 'x' }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'message', id: 'i' }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'ping', id: 3 }), 'LOCKSTEP_E_BAD_FRAME'],
    [JSON.stringify({ type: 'subscribe' }), 'LOCKSTEP_E_UNKNOWN_TYPE'],
  ])('refuses %s with %s', (raw, code) => {
    expect(decodeClientFrame(raw)).toMatchObject({ ok: false, code });
  });
});

describe('credentials', () => {
  it('the Authorization header wins over the subprotocol, which wins over a first frame', () => {
    expect(credentialsFromUpgrade({ authorization: 'Bearer h', 'sec-websocket-protocol': 'lockstep.v1, lockstep.bearer.s' }))
      .toEqual({ token: 'h', source: 'header' });
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'lockstep.v1, lockstep.bearer.s' }))
      .toEqual({ token: 's', source: 'subprotocol' });
    expect(credentialsFromUpgrade({ authorization: 'Basic abc' })).toEqual({ token: undefined, source: 'frame' });
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'lockstep.bearer.' })).toEqual({ token: undefined, source: 'frame' });
  });

  it('selects lockstep.v1 only, never the bearer entry', () => {
    expect(selectSubprotocol(['lockstep.bearer.secret', 'lockstep.v1'])).toBe('lockstep.v1');
    expect(selectSubprotocol(['lockstep.bearer.secret'])).toBe(false);
  });
});
