// Flat config: typescript-eslint's recommended rules, plus the one rule that guards the
// design: machines stay pure (no I/O modules, no wall clock).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'test-artifacts/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // bench/ and scripts/ are plain Node ESM (run without a build step): Node's globals.
    files: ['bench/**/*.mjs', 'scripts/**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'setImmediate', 'queueMicrotask']
          .map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // Node 20's V8 builds `{ ...a, b }` and `{ ...a, ...b }` (a spread first, anything after it) in
    // its runtime: about 1 µs per object where `Object.assign({}, a, { b })` takes 0.1 µs (and a
    // spread that is not first is fast too). Figures: bench/README.md, "(stop 27)".
    // Object.assign sets a source's own `__proto__` key as the prototype: keep a spread (with a
    // disable comment) where the source is data from outside.
    // The server's paths (per connection, per message, per event) and the machines they step.
    files: ['src/server/**/*.ts', 'src/adapter/**/*.ts', 'src/delivery/**/*.ts', 'src/runtime/**/*.ts', 'src/agent/**/*.ts', 'src/protocol/**/*.ts', 'machines/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: 'ObjectExpression[properties.0.type="SpreadElement"][properties.length>1]',
        message: 'A spread first and more after it is ~10x slower on Node 20: use Object.assign({}, a, { b }), or put the spread after the other properties when no key overlaps.',
      }],
    },
  },
  {
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: ['ws', 'node:*', 'net', 'http', 'fs', 'prom-client', 'jose', '../src/adapter/*', '../src/server/*', '../src/delivery/*'],
      }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'Date', 'process'],
    },
  },
);
