#!/usr/bin/env node
/**
 * The `lockstep` command. Each command's module is loaded only when that command runs:
 * `lockstep replay` does not load fast-check, `lockstep serve` does not load elkjs, and a
 * missing optional peer fails only the command that needs it.
 */
import { LockstepError } from '../protocol/errors.js';

const USAGE = `Usage: lockstep <command> [options]

Commands:
  serve    run the demo server                                    lockstep serve --help
  viz      regenerate visualizations/ (Mermaid, SVG, Stately) from the machines
                                                                  lockstep viz --help
  fuzz     run the invariant properties against the machines and report (needs fast-check)
                                                                  lockstep fuzz --help
  replay   re-run a recorded connection trace against the machines
                                                                  lockstep replay --help
  help     print this (also --help, -h)

Common serve options: --port 8080, --log-level info, --redis URL, --record DIR (lockstep serve --help).`;

type Command = (argv: string[]) => Promise<void> | void;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serve,
  viz: async () => (await import('./viz.js')).viz,
  fuzz: async () => (await import('./fuzz.js')).fuzz,
  replay: async () => (await import('./replay.js')).replay,
};

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return;
  }
  const load = command === undefined ? undefined : Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load === undefined) {
    console.error(`${command === undefined ? 'lockstep: no command given' : `lockstep: unknown command "${command}"`}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const code = error instanceof LockstepError ? `${error.code}: ` : '';
  console.error(`lockstep: ${code}${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
