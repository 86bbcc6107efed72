/**
 * Exhaustive bounded exploration of the handshake machine, executed on the real server: each
 * generated path is one real connection on loopback whose handshake child is driven by real
 * causes — the client's first frame, the token verifier and backend readiness settled by the
 * test, a named delay fired on the clock — and checked step by step against the snapshot the
 * server's handshake actor produced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { handshakeMachine } from '../../machines/handshake.js';
import { assertComplete, delayEvents, explore, summary, type Path } from './explore.js';
import { MODEL_LIMITS, ModelServer, delayMs, pausedClient } from './server-driver.js';

const AUTH = JSON.stringify({ type: 'auth', token: 'tok' });
const VERIFYING = 'xstate.actor.0.handshake.authenticating.verifying';
const BACKEND = 'xstate.actor.0.handshake.checkingBackend';
const done = (id: string) => id.replace('xstate.actor.', 'xstate.done.actor.');
const error = (id: string) => id.replace('xstate.actor.', 'xstate.error.actor.');

const inputs = [undefined, 'tok'].map((token) => ({
  token,
  authTimeoutMs: MODEL_LIMITS.authTimeoutMs,
  backendTimeoutMs: MODEL_LIMITS.backendTimeoutMs,
}));

// The vertex: state value and the context that the outcome is made of.
const serialize = (s: AnyMachineSnapshot) => JSON.stringify([s.value, s.context.token, s.context.userId, s.context.closeCode]);

const exploration = explore({
  name: 'handshake',
  machine: handshakeMachine,
  inputs,
  events: (s) => [
    { type: 'handshake.authFrame', data: AUTH },
    { type: 'handshake.authFrame', data: 'not an auth frame' },
    { type: done(VERIFYING), output: { userId: 'u' } },
    // A verified user id outside the subject bound (a newline) is still refused 4401.
    { type: done(VERIFYING), output: { userId: 'u\nroot' } },
    { type: error(VERIFYING), error: 'bad token' },
    { type: done(BACKEND), output: undefined },
    { type: error(BACKEND), error: 'backend down' },
    ...delayEvents(s),
  ],
  serialize,
});

/** Makes the real cause of a handshake event happen. */
async function cause(m: ModelServer, ws: import('ws').WebSocket, event: EventObject & { data?: string; output?: unknown }): Promise<void> {
  if (event.type === 'handshake.authFrame') ws.send(event.data!);
  else if (event.type === done(VERIFYING)) (await m.verify.next()).resolve(event.output as { userId: string });
  else if (event.type === error(VERIFYING)) (await m.verify.next()).reject(new Error('bad token'));
  else if (event.type === done(BACKEND)) (await m.ready.next()).resolve();
  else if (event.type === error(BACKEND)) (await m.ready.next()).reject(new Error('backend down'));
  else if (event.type.startsWith('xstate.after.')) m.clock.fire(delayMs(event.type));
  else throw new Error(`no real cause for ${event.type}`);
}

async function execute(path: Path, seen: Set<string>): Promise<void> {
  const m = await new ModelServer({ limits: MODEL_LIMITS }).start();
  const first = path.steps[0]!.state as AnyMachineSnapshot;
  const ws = await pausedClient(m.url, first.context.token);
  const actor = await m.actor('handshake');
  expect(serialize(await m.processed(actor, 'xstate.init', 1)), 'initial state').toBe(serialize(first));
  const counts = new Map<string, number>();
  for (const step of path.steps.slice(1)) {
    await cause(m, ws, step.event);
    const n = (counts.get(step.event.type) ?? 0) + 1;
    counts.set(step.event.type, n);
    const real = await m.processed(actor, step.event.type, n);
    expect(serialize(real), `${step.event.type} #${n}`).toBe(serialize(step.state as AnyMachineSnapshot));
  }
  ws.terminate();
  await m.server.close();
  for (const key of m.transitions.get('handshake') ?? []) seen.add(key);
}

describe('handshake machine, explored with xstate/graph', () => {
  const executedTransitions = new Set<string>();
  afterAll(() => {
    console.log(summary(exploration, exploration.paths.length, 'on the real server (loopback)'));
  });

  it('reaches every state and takes every transition', () => {
    assertComplete(exploration, exploration.statesReached, exploration.transitionsTaken);
  });

  it('every path, executed on the real server, takes every transition of the handshake', async () => {
    for (const path of exploration.paths) await execute(path, executedTransitions);
    assertComplete(exploration, exploration.statesReached, executedTransitions);
  });
});
