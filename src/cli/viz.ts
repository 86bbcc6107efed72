/** `lockstep viz [--out visualizations]`: regenerate the charts (Mermaid, SVG, Stately) from the machines. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderAll } from '../viz/generate.js';

export const VIZ_USAGE = `Usage: lockstep viz [--out visualizations]

  Writes every machine's chart as Mermaid (.mmd, .md), SVG (laid out by elkjs, an optional
  peer dependency: npm install --save-dev elkjs) and a Stately-ready definition (.stately.ts).
  --out DIR   the folder to write (created if missing)              default visualizations`;

export async function viz(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string', default: 'visualizations' }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
  });
  if (values.help) {
    console.log(VIZ_USAGE);
    return;
  }
  // Everything is rendered before the folder is created: without elkjs (or on any failure)
  // nothing is written, not even an empty folder.
  const files = await renderAll();
  mkdirSync(values.out, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(join(values.out, file), text);
    console.log(`wrote ${join(values.out, file)}`);
  }
}
