/**
 * Runs one measurement as separate processes on loopback: a server process and a load
 * generator (or the verification process alone), relaying the load generator's requests
 * to the server over IPC. Bounded: every process is killed by its own pid when the job
 * ends or when `timeoutSeconds` passes. The file-descriptor limit of each child is raised
 * to the hard limit in a shell wrapper (`exec` keeps the pid), for 10,000 connections.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

function spawnNode(nodeArgs) {
  const quoted = nodeArgs.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "${process.execPath}" ${quoted}`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage(child, predicate) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (!predicate(message)) return;
      cleanup();
      resolve(message);
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`process ${child.pid} exited (${code ?? signal}) before answering`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/** Asks the child to exit (IPC disconnect: lets --cpu-prof write its profile), then SIGKILLs its pid. */
async function end(child) {
  if (exited(child)) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  if (child.connected) child.disconnect();
  const grace = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 2_000);
  await gone;
  clearTimeout(grace);
}

async function withDeadline(children, timeoutSeconds, work) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutSeconds} s`)), timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
    await Promise.all(children.map(end));
  }
}

/** Server + load generator for one (scenario, target) pair. */
export function runLoadJob(impl, scenario, params, timeoutSeconds) {
  const children = [];
  return withDeadline(children, timeoutSeconds, async () => {
    // BENCH_PROFILE_DIR: profile the server process (node --cpu-prof) for the hot-path work;
    // BENCH_PROFILE_INTERVAL_US: its sampling interval (Node's default is 1000 µs).
    const interval = process.env.BENCH_PROFILE_INTERVAL_US ? [`--cpu-prof-interval=${process.env.BENCH_PROFILE_INTERVAL_US}`] : [];
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, ...interval] : [];
    const server = spawnNode([...profile, '--expose-gc', here('./server.mjs'), impl]);
    children.push(server);
    const { port } = await nextMessage(server, (m) => m.type === 'listening');
    const load = spawnNode([here('./load.mjs')]);
    children.push(load);
    await nextMessage(load, (m) => m.type === 'up');
    // Relay the load generator's server requests (CPU, memory, fan-out) to the server process.
    load.on('message', (m) => m.type === 'server' && server.send({ id: m.id, cmd: m.cmd, args: m.args }));
    server.on('message', (m) => m.id !== undefined && load.connected && load.send(m));
    const outcome = nextMessage(load, (m) => m.type === 'result' || m.type === 'failed');
    load.send({ type: 'run', impl, scenario, port, params });
    const answer = await outcome;
    if (answer.type === 'failed') throw new Error(answer.error);
    return answer.data;
  });
}

/** A one-process job with no sockets: verification speed (verify.mjs) or XState floors (floors.mjs). */
export function runInProcessJob(script, params, timeoutSeconds) {
  const children = [];
  return withDeadline(children, timeoutSeconds, async () => {
    const child = spawnNode(['--expose-gc', here(script)]);
    children.push(child);
    const outcome = nextMessage(child, (m) => m.type === 'result' || m.type === 'failed');
    child.send({ type: 'run', params });
    const answer = await outcome;
    if (answer.type === 'failed') throw new Error(answer.error);
    return answer.data;
  });
}
