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
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: ['ws', 'node:*', 'net', 'http', 'fs', 'prom-client', 'jose', '../src/adapter/*', '../src/server/*', '../src/delivery/*'],
      }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'Date', 'process'],
    },
  },
);
