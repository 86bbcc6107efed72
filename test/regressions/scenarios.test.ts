/**
 * Counterexamples kept as permanent tests: each file in ./scenarios holds a connection scenario
 * (the shape `lockstep fuzz --save` writes), why it matters, and what must happen. Every
 * invariant is checked on it as well. Add a file here whenever fuzzing finds something.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConnectionScenario, type ConnectionScenario } from '../../src/testing/connection-scenario.js';
import { checkConnectionInvariants } from '../../src/testing/connection-invariants.js';

interface Regression {
  why: string;
  scenario: ConnectionScenario;
  expect?: { handled?: string[]; closeCode?: number; firstFrame?: string };
}

const dir = join(import.meta.dirname, 'scenarios');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('regression scenarios', () => {
  it('there are some', () => expect(files.length).toBeGreaterThan(0));

  for (const file of files) {
    const regression = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Regression;
    it(`${file}: ${regression.why}`, async () => {
      const trace = await runConnectionScenario(regression.scenario);
      expect(checkConnectionInvariants(trace)).toEqual([]);
      const handled = trace.effects.flatMap((e) => (e.kind === 'handler' ? [e.id] : []));
      if (regression.expect?.handled) expect(handled).toEqual(regression.expect.handled);
      const close = trace.effects.find((e) => e.kind === 'close');
      if (regression.expect?.closeCode !== undefined) expect(close).toMatchObject({ code: regression.expect.closeCode });
      const first = trace.effects.find((e) => e.kind === 'send');
      if (regression.expect?.firstFrame) expect(first).toMatchObject({ frame: { type: regression.expect.firstFrame } });
    });
  }
});
