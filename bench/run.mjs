/**
 * `npm run bench`: runs every scenario against every target, alternating targets within
 * each run (A B C A B C …), and writes bench/results.md. Knobs: see bench/config.mjs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LOCKSTEP_ONLY, readConfig } from './config.mjs';
import { runInProcessJob, runLoadJob } from './jobs.mjs';
import { machineDescription, renderReport, summarize } from './report.mjs';

const config = readConfig();
/** Scenarios measured in one process with no sockets. */
const IN_PROCESS = { verify: './verify.mjs', floors: './floors.mjs' };
const machine = machineDescription();
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const t0 = performance.now();

const fdLimit = Number(execFileSync('/bin/sh', ['-c', 'ulimit -Hn']).toString().trim());
if (config.scenarios.includes('memory') && fdLimit < config.params.memory.conns + 1024) {
  console.warn(`bench: the hard file-descriptor limit is ${fdLimit}; memory needs ${config.params.memory.conns + 1024}. Raise it (ulimit -Hn) or lower --scale.`);
}

const versionOf = (pkg) => JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url))).version;
const versions = { ws: versionOf('ws'), 'socket.io': versionOf('socket.io'), xstate: versionOf('xstate'), 'fast-check': versionOf('fast-check') };

const results = {};
const failures = [];
for (const scenario of config.scenarios) {
  results[scenario] = {};
  const impls = LOCKSTEP_ONLY.includes(scenario) ? ['lockstep'] : config.impls;
  for (const impl of impls) results[scenario][impl] = [];
  for (let run = 0; run < config.runs; run++) {
    for (const impl of impls) {
      const label = `[run ${run + 1}/${config.runs}] ${scenario} ${impl}`;
      try {
        const params = config.params[scenario];
        const data = IN_PROCESS[scenario]
          ? await runInProcessJob(IN_PROCESS[scenario], params, config.jobTimeoutSeconds)
          : await runLoadJob(impl, scenario, params, config.jobTimeoutSeconds);
        results[scenario][impl][run] = data;
        console.log(`${label} ${JSON.stringify(data, (_, v) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v))}`);
      } catch (error) {
        results[scenario][impl][run] = null;
        failures.push({ run: run + 1, scenario, impl, error: String(error?.message ?? error) });
        console.error(`${label} FAILED: ${error?.message ?? error}`);
      }
    }
  }
}

const seconds = (performance.now() - t0) / 1000;
const report = renderReport({
  config,
  results,
  failures,
  machine,
  startedAt,
  seconds,
  loadAfter: os.loadavg().map((v) => v.toFixed(2)).join(' '),
  versions,
});
mkdirSync(dirname(config.out), { recursive: true });
writeFileSync(config.out, report);
writeFileSync(config.out.replace(/\.md$/, '') + '.json', JSON.stringify({ config, machine, startedAt, seconds, results, failures }, null, 2) + '\n');
console.log(`bench: wrote ${config.out} in ${seconds.toFixed(0)} s`);
console.log(JSON.stringify(summarize(results)));
process.exitCode = failures.length ? 1 : 0;
