/**
 * The compiled step function (src/runtime/compiled-machine.ts) against XState's own
 * `machine.transition` / `getInitialSnapshot`: on random machines (a generated zoo of nested,
 * parallel and final states with guards — builtin ones too —, `always`, `after`, `reenter`,
 * `onDone`, `assign`, `raise`, `enqueueActions`, entry and exit actions, raised loops caught by
 * `maxIterations`) and on lockstep's own machines, for random event sequences, both must give
 * the same snapshot after every event (value, context, status, output, error, the order of
 * `_nodes`, tags, toJSON) and hand the same actions to the scope in the same order (type,
 * params, the context and event each saw), or throw the same error.
 * The connection machine on real scenarios: test/properties/machine-runner.test.ts (the runner,
 * which steps with the compiled form, ≡ a full XState Actor).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assign, enqueueActions, not, raise, setup, stateIn, type AnyStateMachine } from 'xstate';
import { compileMachine, type StepScope } from '../../src/runtime/compiled-machine.js';
import { fuzzScaledRuns } from '../support/fuzz-runs.js';
import { agentRunMachine, connectionMachine, leaseKeeperMachine, serverLifecycleMachine } from '../../machines/index.js';

interface Recorded {
  type: string;
  params: unknown;
  context: unknown;
  event: unknown;
}

function recordingScope(): StepScope & { actions: Recorded[] } {
  const scope = {
    id: '',
    sessionId: '',
    actions: [] as Recorded[],
    self: undefined as unknown,
    system: {
      _sendInspectionEvent: () => {},
      _relay: () => {},
      _unregister: () => {},
      _bookId: () => {
        throw new Error('no children here');
      },
    },
    actionExecutor(action: { type: string; info: unknown; params: unknown }) {
      const info = action.info as { context: unknown; event: unknown };
      scope.actions.push({ type: action.type, params: action.params, context: info.context, event: info.event });
    },
    defer: () => {},
    logger: () => {},
    emit: () => {},
    stopChild: () => {},
  };
  scope.self = scope;
  return scope;
}

type Snap = {
  value: unknown;
  context: unknown;
  status: string;
  output: unknown;
  error: unknown;
  _nodes: { id: string }[];
  tags: Set<string>;
  toJSON(): unknown;
};

const view = (s: Snap) => ({
  value: s.value,
  context: s.context,
  status: s.status,
  output: s.output,
  error: s.error instanceof Error ? s.error.message : s.error,
  nodes: s._nodes.map((n) => n.id),
  tags: [...s.tags],
  json: JSON.stringify(s.toJSON(), (_k, v: unknown) => (v instanceof Error ? v.message : v)),
});

type Outcome = { snapshot: Snap } | { thrown: string };

function attempt(fn: () => unknown): Outcome {
  try {
    return { snapshot: fn() as Snap };
  } catch (error) {
    return { thrown: (error as Error).message };
  }
}

/** Steps both through `events` from their initial snapshots; expects agreement at every step. */
function expectSameSteps(machine: AnyStateMachine, input: unknown, events: (snapshot: Snap, step: number, seen: Recorded[]) => { type: string } | undefined) {
  const compiled = compileMachine(machine);
  expect(compiled, 'the machine is one the compiled stepper covers').toBeDefined();
  const xs = recordingScope();
  const cs = recordingScope();
  let x = attempt(() => machine.getInitialSnapshot(xs as never, input));
  let c = attempt(() => compiled!.getInitialSnapshot(cs, input));
  for (let step = 0; ; step++) {
    expect(cs.actions).toEqual(xs.actions);
    if ('thrown' in x || 'thrown' in c) {
      expect(c).toEqual(x);
      return;
    }
    expect(view(c.snapshot)).toEqual(view(x.snapshot));
    if (x.snapshot.status !== 'active') return;
    const event = events(x.snapshot, step, xs.actions);
    if (event === undefined) return;
    const xSnap = x.snapshot;
    const cSnap = c.snapshot;
    x = attempt(() => machine.transition(xSnap as never, event as never, xs as never));
    c = attempt(() => compiled!.transition(cSnap as never, event, cs));
  }
}

// ---- a zoo of random machines ----

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['a', 'b', 'c', 'e.x', 'e.y'];

const zooBase = setup({
  types: { context: {} as { n: number; seen: string[] }, events: {} as { type: string; v?: number }, input: {} as { start: number } },
  actions: {
    inc: assign({ n: ({ context }) => context.n + 1 }),
    note: assign(({ context, event }, params: { at: string }) => ({ seen: [...context.seen, `${params.at}:${event.type}`] })),
    effect: (_, _params: { at: string }) => {},
    raiseB: raise({ type: 'b' }),
    later: raise({ type: 'c' }, { delay: 'later', id: 'later' }),
    maybe: enqueueActions(({ context, enqueue, check }) => {
      enqueue.assign({ n: context.n + 2 });
      if (check('even' as never)) enqueue.raise({ type: 'a', v: context.n });
      enqueue({ type: 'effect', params: { at: 'enqueued' } } as never);
    }),
  },
  guards: {
    even: ({ context }) => context.n % 2 === 0,
    odd: ({ context }) => context.n % 2 === 1,
    lt3: ({ context }) => context.n < 3,
    atLeast: ({ context }, params: { n: number }) => context.n >= params.n,
    payload: ({ event }) => (event.v ?? 0) > 1,
  },
  delays: { later: ({ context }) => 50 + context.n },
});

interface Shape {
  key: string;
  id: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final';
  children: Shape[];
}

/** A random machine definition from one seed: the shape, then transitions between its nodes. */
function zooMachine(seed: number): AnyStateMachine {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const all: Shape[] = [];
  let count = 0;
  const shape = (key: string, depth: number, inParallel: boolean): Shape => {
    const type = depth >= 3 ? 'atomic' : pick(inParallel ? (['compound', 'atomic'] as const) : (['atomic', 'atomic', 'compound', 'compound', 'parallel'] as const));
    const node: Shape = { key, id: count++ === 0 ? 'zoo' : `n${count - 1}`, type, children: [] };
    all.push(node);
    if (type !== 'atomic') {
      const n = 2 + Math.floor(r() * 2);
      for (let i = 0; i < n; i++) node.children.push(shape(`${key}${i}`, depth + 1, type === 'parallel'));
      if (type === 'compound' && r() < 0.5) {
        const last = node.children[node.children.length - 1]!;
        if (last.type === 'atomic') last.type = 'final';
      }
    }
    return node;
  };
  const root = shape('s', 0, false);
  const parents = new Map<Shape, Shape>();
  for (const s of all) for (const k of s.children) parents.set(k, s);
  // Near targets are the interesting ones: itself (with and without reenter), a sibling, the parent.
  const target = (from?: Shape) => {
    const p = r();
    const parent = from && parents.get(from);
    if (from && p < 0.2) return `#${from.id}`;
    if (parent && p < 0.45) return `#${pick(parent.children).id}`;
    if (parent && p < 0.55) return `#${parent.id}`;
    return `#${pick(all).id}`;
  };
  const guard = () =>
    pick([undefined, undefined, 'even', 'odd', 'lt3', { type: 'atLeast', params: { n: 2 } }, 'payload', stateIn(target()), not('even')] as const);
  const actions = (at: string) => {
    const out: unknown[] = [];
    if (r() < 0.4) out.push('inc');
    if (r() < 0.4) out.push({ type: 'note', params: { at } });
    if (r() < 0.2) out.push({ type: 'effect', params: ({ context }: { context: { n: number } }) => ({ at: `${at}/${context.n}` }) });
    if (r() < 0.08) out.push('raiseB');
    if (r() < 0.08) out.push('later');
    if (r() < 0.1) out.push('maybe');
    return out;
  };
  const transition = (at: string, from: Shape) => {
    const t: Record<string, unknown> = { actions: actions(at) };
    const g = guard();
    if (g !== undefined) t.guard = g;
    if (r() < 0.7) t.target = target(from);
    if (r() < 0.3) t.reenter = true;
    return t;
  };
  const config = (s: Shape): Record<string, unknown> => {
    const c: Record<string, unknown> = { id: s.id };
    if (s.type === 'final') c.type = 'final';
    if (s.type === 'parallel') c.type = 'parallel';
    if (s.children.length) c.states = Object.fromEntries(s.children.map((k) => [k.key, config(k)]));
    if (s.type === 'compound') c.initial = s.children[0]!.key;
    if (s.type !== 'final') {
      const on: Record<string, unknown> = {};
      for (const e of EVENTS) if (r() < 0.3) on[e] = r() < 0.3 ? [transition(`${s.id}.${e}`, s), transition(`${s.id}.${e}'`, s)] : transition(`${s.id}.${e}`, s);
      if (r() < 0.1) on[pick(['e.*', '*'])] = transition(`${s.id}.*`, s);
      if (Object.keys(on).length) c.on = on;
      // Each `always` makes n grow while its guard holds, so the loop ends.
      if (r() < 0.2) c.always = { guard: pick(['lt3', 'odd']), actions: ['inc', { type: 'note', params: { at: `${s.id}.always` } }], ...(r() < 0.6 ? { target: target(s) } : {}) };
      if (r() < 0.15) c.after = { [pick(['later', 100])]: transition(`${s.id}.after`, s) };
      if (s.type === 'compound' && r() < 0.3) c.onDone = transition(`${s.id}.done`, s);
    }
    if (r() < 0.4) c.entry = actions(`${s.id}.entry`);
    if (r() < 0.4) c.exit = actions(`${s.id}.exit`);
    if (r() < 0.2) c.tags = [pick(['busy', 'idle'])];
    return c;
  };
  const rootConfig = config(root);
  return zooBase.createMachine({
    ...(rootConfig as object),
    id: 'zoo',
    context: ({ input }: { input: { start: number } | undefined }) => ({ n: input?.start ?? 0, seen: [] }),
    output: ({ context }: { context: { n: number } }) => ({ n: context.n }),
    // A raised event can loop forever: both sides must stop at the same bound with the same error.
    options: { maxIterations: 60 },
  } as never) as unknown as AnyStateMachine;
}

/** The next event: mostly from the alphabet, sometimes a delayed event one of the steps set. */
function zooEvents(picks: number[]) {
  return (_s: Snap, step: number, seen: Recorded[]) => {
    if (step >= picks.length) return undefined;
    const p = picks[step]!;
    const delayed = seen.flatMap((a) => (a.type === 'xstate.raise' && typeof (a.params as { delay?: unknown }).delay === 'number' ? [(a.params as { event: { type: string } }).event] : []));
    if (delayed.length && p % 4 === 0) return delayed[p % delayed.length]!;
    return { type: EVENTS[p % EVENTS.length]!, v: p % 3 };
  };
}

// `npm test`: 300 machines and 150 sequences per lockstep machine (about a second);
// `npm run fuzz` (FC_NUM_RUNS): a quarter and a half of FC_NUM_RUNS (5,000 and 10,000 at 20,000).
const zooRuns = fuzzScaledRuns(300, 4);
const ownRuns = fuzzScaledRuns(150, 2);

describe('the compiled step function is XState\'s transition', () => {
  it(`on ${zooRuns} random machines, 30 events each: same snapshots, same actions, same errors`, () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(4), fc.array(fc.nat(1000), { minLength: 1, maxLength: 30 }), (seed, start, picks) => {
        expectSameSteps(zooMachine(seed), { start }, zooEvents(picks));
      }),
      { numRuns: zooRuns },
    );
  });

  it('covers lockstep\'s machines without children, and leaves the others to XState', () => {
    for (const machine of [connectionMachine, agentRunMachine, serverLifecycleMachine, leaseKeeperMachine]) {
      expect(compileMachine(machine as unknown as AnyStateMachine), machine.id).toBeDefined();
    }
    const withChild = setup({}).createMachine({ invoke: { src: setup({}).createMachine({}) } } as never);
    expect(compileMachine(withChild as unknown as AnyStateMachine)).toBeUndefined();
  });

  it('on lockstep\'s run, server and lease machines, random events from their own alphabets', () => {
    const machines = [agentRunMachine, serverLifecycleMachine, leaseKeeperMachine] as unknown as AnyStateMachine[];
    for (const machine of machines) {
      const types = [...new Set([...(machine.events as string[]), ...afterEvents(machine)])];
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(types.length - 1), fc.nat(3)), { maxLength: 25 }), (picks) => {
          expectSameSteps(machine, undefined, (_s, step) => {
            const p = picks[step];
            return p && { type: types[p[0]]!, ...payload(p[1]) };
          });
        }),
        { numRuns: ownRuns },
      );
    }
  });
});

// The `after` events a machine listens to (XState names them xstate.after.<delay>.<state id>).
function afterEvents(machine: AnyStateMachine): string[] {
  const nodes = [...(machine as unknown as { idMap: Map<string, { transitions: Map<string, unknown> }> }).idMap.values()];
  return nodes.flatMap((n) => [...n.transitions.keys()].filter((k) => k.startsWith('xstate.after.')));
}

// A few payload shapes the machines' guards and actions read.
function payload(kind: number): Record<string, unknown> {
  switch (kind) {
    case 0:
      return {};
    case 1:
      return { runId: 'r1', toolCallId: 't1', name: 'tool', reason: 'because', error: { code: 'E', message: 'm' } };
    case 2:
      return { runId: 'r1', toolCallId: 't2', nowMs: 5, atMs: 5, text: 'x', approvalId: 'a1' };
    default:
      return { runId: 'r2', toolCallId: 't1', nowMs: 1_000_000, atMs: 1_000_000 };
  }
}
