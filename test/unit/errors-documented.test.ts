// Every code in the registry is documented in docs/errors.md, and nothing else is.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ErrorCodes } from '../../src/protocol/errors.js';
import { CloseCode } from '../../src/protocol/close-codes.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const headings = [...doc.matchAll(/^### (\S+)\s*$/gm)].map((m) => m[1]);

describe('docs/errors.md', () => {
  it('documents exactly the error codes of the registry', () => {
    expect(headings.filter((h) => h?.startsWith('LOCKSTEP_')).sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  it('documents every close code lockstep uses', () => {
    for (const code of Object.values(CloseCode)) expect(headings).toContain(String(code));
  });
});
