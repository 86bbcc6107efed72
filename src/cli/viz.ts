/** `lockstep viz [--out visualizations]`: regenerate the Mermaid charts from the machines. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderAll } from '../viz/generate.js';

export function viz(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: 'visualizations' } } });
  mkdirSync(values.out, { recursive: true });
  for (const [file, text] of Object.entries(renderAll())) {
    writeFileSync(join(values.out, file), text);
    console.log(`wrote ${join(values.out, file)}`);
  }
}
