import { describe, expect, it } from 'vitest';
import { credentialsFromUpgrade, parseSubprotocols, selectSubprotocol } from '../../src/protocol/credentials.js';
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../src/protocol/frames.js';

describe('credentialsFromUpgrade: precedence header > subprotocol > frame', () => {
  it('header beats subprotocol', () => {
    expect(
      credentialsFromUpgrade({ authorization: 'Bearer from-header', 'sec-websocket-protocol': 'lockstep.v1, lockstep.bearer.from-proto' }),
    ).toEqual({ token: 'from-header', source: 'header' });
  });

  it('subprotocol beats frame', () => {
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'lockstep.v1, lockstep.bearer.from-proto' })).toEqual({
      token: 'from-proto',
      source: 'subprotocol',
    });
  });

  it('neither → frame with no token', () => {
    expect(credentialsFromUpgrade({})).toEqual({ token: undefined, source: 'frame' });
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'lockstep.v1' })).toEqual({ token: undefined, source: 'frame' });
  });

  it('an unusable Authorization header falls through to the subprotocol', () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer two tokens', 'Token abc']) {
      expect(credentialsFromUpgrade({ authorization, 'sec-websocket-protocol': 'lockstep.bearer.p' })).toEqual({
        token: 'p',
        source: 'subprotocol',
      });
    }
  });

  it('an unusable Authorization header and no subprotocol → frame', () => {
    expect(credentialsFromUpgrade({ authorization: 'Basic abc' })).toEqual({ token: undefined, source: 'frame' });
  });

  it('Bearer scheme is case-insensitive and tolerates extra spaces', () => {
    expect(credentialsFromUpgrade({ authorization: 'bearer t1' })).toEqual({ token: 't1', source: 'header' });
    expect(credentialsFromUpgrade({ authorization: 'BEARER   t2  ' })).toEqual({ token: 't2', source: 'header' });
  });

  it('an empty bearer subprotocol entry is skipped; the first non-empty one wins', () => {
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'lockstep.bearer., lockstep.bearer.a, lockstep.bearer.b' })).toEqual({
      token: 'a',
      source: 'subprotocol',
    });
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'lockstep.bearer.' })).toEqual({ token: undefined, source: 'frame' });
  });

  it('the subprotocol header may be an array of values', () => {
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': ['lockstep.v1', ' lockstep.bearer.arr '] as unknown as string })).toEqual({
      token: 'arr',
      source: 'subprotocol',
    });
  });

  it('a subprotocol merely containing the prefix is not a bearer entry', () => {
    expect(credentialsFromUpgrade({ 'sec-websocket-protocol': 'x.lockstep.bearer.t' })).toEqual({ token: undefined, source: 'frame' });
  });
});

describe('parseSubprotocols', () => {
  it('splits, trims and drops empty entries', () => {
    expect(parseSubprotocols(' a , b,,c ,')).toEqual(['a', 'b', 'c']);
    expect(parseSubprotocols(['a, b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(parseSubprotocols(undefined)).toEqual([]);
    expect(parseSubprotocols('')).toEqual([]);
  });
});

describe('selectSubprotocol', () => {
  it('selects lockstep.v1 when offered, in any position', () => {
    expect(selectSubprotocol([SUBPROTOCOL])).toBe(SUBPROTOCOL);
    expect(selectSubprotocol(['lockstep.bearer.secret', SUBPROTOCOL])).toBe(SUBPROTOCOL);
    expect(selectSubprotocol(new Set([SUBPROTOCOL, 'lockstep.bearer.secret']))).toBe(SUBPROTOCOL);
  });

  it('never returns a bearer entry, whatever is offered', () => {
    const offers: string[][] = [
      ['lockstep.bearer.secret'],
      ['lockstep.bearer.secret', 'chat'],
      [`${BEARER_SUBPROTOCOL_PREFIX}${SUBPROTOCOL}`],
      ['lockstep.bearer.a', SUBPROTOCOL, 'lockstep.bearer.b'],
      [],
    ];
    for (const offered of offers) {
      const selected = selectSubprotocol(offered);
      expect(selected === false || !selected.startsWith(BEARER_SUBPROTOCOL_PREFIX)).toBe(true);
      expect(selected === false || selected === SUBPROTOCOL).toBe(true);
    }
  });

  it('returns false when lockstep.v1 is not offered (exact match only)', () => {
    expect(selectSubprotocol([])).toBe(false);
    expect(selectSubprotocol(['chat', 'LOCKSTEP.V1', 'lockstep.v2'])).toBe(false);
  });
});
