/**
 * Exhaustive bounded exploration of the server lifecycle machine, executed on the real server:
 * `server.close()`, an in-flight run released by the test (runs.idle), the drain delay fired on
 * the clock, and the last client cut off (connections.empty) are the real causes; every step is
 * checked against the snapshot of the server's own lifecycle actor.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { serverLifecycleMachine } from '../../machines/server-lifecycle.js';
import { deferred } from '../support/deferred.js';
import { assertComplete, delayEvents, explore, summary, type Path } from './explore.js';
import { MODEL_CLOSE_GRACE_MS, MODEL_DRAIN_MS, MODEL_LIMITS, ModelServer, delayMs, pausedClient } from './server-driver.js';

const exploration = explore({
  name: 'server-lifecycle',
  machine: serverLifecycleMachine,
  inputs: [{ drainMs: MODEL_DRAIN_MS, closeGraceMs: MODEL_CLOSE_GRACE_MS }],
  events: (s) => [{ type: 'server.close' }, { type: 'runs.idle' }, { type: 'connections.empty' }, ...delayEvents(s)],
  serialize: (s) => JSON.stringify(s.value),
});

async function execute(path: Path, seen: Set<string>): Promise<void> {
  // One live connection with a run in flight: the drain has something to wait for.
  const gate = deferred();
  const handlerStarted = deferred();
  const m = await new ModelServer({
    limits: MODEL_LIMITS,
    drainMs: MODEL_DRAIN_MS,
    closeGraceMs: MODEL_CLOSE_GRACE_MS,
    handler: async () => {
      handlerStarted.resolve();
      await gate.promise;
    },
  }).start();
  const ws = await pausedClient(m.url, 'tok');
  (await m.verify.next()).resolve({ userId: 'u' });
  (await m.ready.next()).resolve();
  ws.send(JSON.stringify({ type: 'message', id: 'm1', text: 'long run' }));
  await handlerStarted.promise;

  const lifecycle = await m.actor('serverLifecycle');
  let closing: Promise<void> | undefined;
  const counts = new Map<string, number>();
  for (const step of path.steps.slice(1)) {
    const event: EventObject = step.event;
    if (event.type === 'server.close') closing = m.server.close();
    else if (event.type === 'runs.idle') gate.resolve();
    else if (event.type === 'connections.empty') ws.terminate();
    else if (event.type.startsWith('xstate.after.')) m.clock.fire(delayMs(event.type));
    else throw new Error(`no real cause for ${event.type}`);
    const n = (counts.get(event.type) ?? 0) + 1;
    counts.set(event.type, n);
    const real = await m.processed(lifecycle, event.type, n);
    expect(real.value, `${event.type} #${n}`).toEqual((step.state as AnyMachineSnapshot).value);
  }
  gate.resolve();
  ws.terminate();
  await (closing ?? m.server.close());
  for (const key of m.transitions.get('serverLifecycle') ?? []) seen.add(key);
}

describe('server-lifecycle machine, explored with xstate/graph', () => {
  afterAll(() => console.log(summary(exploration, exploration.paths.length, 'on the real server (loopback)')));

  it('reaches every state and takes every transition', () => {
    assertComplete(exploration, exploration.statesReached, exploration.transitionsTaken);
  });

  it('every path, executed on the real server, takes every transition of the lifecycle', async () => {
    const executed = new Set<string>();
    for (const path of exploration.paths) await execute(path, executed);
    assertComplete(exploration, exploration.statesReached, executed);
  });
});
