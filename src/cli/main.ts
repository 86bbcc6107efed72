#!/usr/bin/env node
/** The `lockstep` command. */
import { serve, SERVE_USAGE } from './serve.js';
import { viz } from './viz.js';
import { fuzz, FUZZ_USAGE } from './fuzz.js';
import { replay } from './replay.js';

const USAGE = `Usage: lockstep <command> [options]

Commands:
  serve    run the demo server (lockstep serve --help)
  viz      regenerate visualizations/ (Mermaid, SVG, Stately) from the machines [--out DIR]
  fuzz     run the invariant properties against the machines and report (lockstep fuzz --help)
  replay   re-run a recorded connection trace against the machines (lockstep replay --help)

${SERVE_USAGE}

${FUZZ_USAGE}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'viz':
      return viz(rest);
    case 'fuzz':
      return fuzz(rest);
    case 'replay':
      return replay(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return;
    default:
      console.error(`lockstep: unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`lockstep: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
