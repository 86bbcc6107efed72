/**
 * `lockstep replay <trace.json>`: re-runs a recorded connection against the machines, prints
 * every transition, and exits 0 when it matches the recording, 1 when it diverges (with the
 * differences), 2 when the file cannot be replayed (LOCKSTEP_ERR_INVALID_TRACE).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LockstepError } from '../protocol/errors.js';
import { replayTrace } from '../testing/replay.js';
import { formatReplay } from '../testing/replay-report.js';

export const REPLAY_USAGE = `Usage: lockstep replay <trace.json> [--quiet]

  Re-runs a connection trace recorded with \`lockstep serve --record DIR\` (or the \`record\`
  server option) against the machines, printing each transition and its effects.
  --quiet   print only the verdict
  Exit code: 0 the replay matches the recording, 1 it diverges, 2 the file is not a valid trace.`;

function readTrace(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_TRACE', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_TRACE', `${file} is not JSON: ${(error as Error).message}`);
  }
}

export function replay(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { quiet: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(REPLAY_USAGE);
    return;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new Error(`expected one trace file\n\n${REPLAY_USAGE}`);
  let result;
  try {
    result = replayTrace(readTrace(file));
  } catch (error) {
    if (!(error instanceof LockstepError)) throw error;
    console.error(`lockstep replay: ${error.code}: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  for (const line of formatReplay(result, { steps: !values.quiet })) console.log(line);
  process.exitCode = result.ok ? 0 : 1;
}
