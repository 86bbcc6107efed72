import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderAll } from '../../src/viz/generate.js';

describe('visualizations/', () => {
  it('is up to date with the machines (run `npm run viz`)', () => {
    for (const [file, text] of Object.entries(renderAll())) {
      const committed = readFileSync(new URL(`../../visualizations/${file}`, import.meta.url), 'utf8');
      expect(committed, `visualizations/${file} is stale: run npm run viz`).toBe(text);
    }
  });

  it('draws every state of the connection machine', () => {
    const chart = renderAll()['connection.mmd'] ?? '';
    for (const state of ['handshaking', 'joining', 'ready', 'closing', 'terminating', 'closed', 'awaitingPong']) {
      expect(chart).toContain(`"${state}`);
    }
  });
});
