/**
 * `import 'lockstep/testing'` loads src/testing/entry.ts, which re-exports index.ts by name
 * behind the fast-check check (a dynamic import: see entry.ts). Its names must be index.ts's,
 * every one, bound to the same values.
 */
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/testing/entry.js';
import * as index from '../../src/testing/index.js';
import { readFileSync } from 'node:fs';
import { isMissingPackage, missingPeer, OPTIONAL_PEERS, withOptionalPeer } from '../../src/optional-peer.js';
import { LockstepError } from '../../src/protocol/errors.js';

describe('lockstep/testing entry', () => {
  it('exports exactly the runtime names of src/testing/index.ts, with the same values', () => {
    expect(Object.keys(entry).sort()).toEqual(Object.keys(index).sort());
    for (const [name, value] of Object.entries(index)) expect((entry as Record<string, unknown>)[name], name).toBe(value);
  });
});

describe('optional peers', () => {
  it('a missing peer becomes LOCKSTEP_ERR_MISSING_PEER naming the feature and the install line; other failures pass through', async () => {
    // A real failed import of a package that is not installed, as Node reports it.
    const missing = await import('not-installed-peer-xyz' as string).catch((error: unknown) => error);
    expect(isMissingPackage(missing, 'not-installed-peer-xyz')).toBe(true);
    expect(isMissingPackage(missing, 'fast-check')).toBe(false);
    const error = missingPeer('fast-check', 'lockstep fuzz', missing);
    expect(error).toBeInstanceOf(LockstepError);
    expect(error).toMatchObject({ code: 'LOCKSTEP_ERR_MISSING_PEER', cause: missing });
    expect(error.message).toBe('lockstep fuzz needs fast-check, an optional peer dependency of lockstep that is not installed: npm install --save-dev fast-check@^4.10.2');
    const other = new Error('boom');
    await expect(withOptionalPeer('elkjs', 'lockstep viz', () => Promise.reject(other))).rejects.toBe(other);
    await expect(withOptionalPeer('elkjs', 'lockstep viz', async () => 7)).resolves.toBe(7);
  });
});

describe('package.json', () => {
  it('names fast-check and elkjs as optional peers (in the ranges the error prints), devDependencies for our tests, not dependencies', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
    for (const [peer, range] of Object.entries(OPTIONAL_PEERS)) {
      expect(pkg.peerDependencies![peer], peer).toBe(range);
      expect(pkg.peerDependenciesMeta![peer], peer).toEqual({ optional: true });
      expect(pkg.devDependencies![peer], peer).toBe(range);
      expect(pkg.dependencies![peer], peer).toBeUndefined();
    }
  });
});
