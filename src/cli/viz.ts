/** `lockstep viz [--out visualizations]`: regenerate the charts (Mermaid, SVG, Stately) from the machines. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderAll } from '../viz/generate.js';

export async function viz(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: 'visualizations' } } });
  mkdirSync(values.out, { recursive: true });
  for (const [file, text] of Object.entries(await renderAll())) {
    writeFileSync(join(values.out, file), text);
    console.log(`wrote ${join(values.out, file)}`);
  }
}
