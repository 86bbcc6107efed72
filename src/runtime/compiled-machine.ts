/**
 * XState's own step function (`machine.transition` / `getInitialSnapshot`, SCXML's macrostep and
 * microstep as XState 5 implements them), with everything that depends only on the machine's
 * definition computed once and kept: for each configuration of active states its state value,
 * tags and which nodes listen to an event; for each (configuration, chosen transitions) the
 * states to exit and enter, in order, and the configuration that results. What is left per event
 * is what depends on the context and the event: guards, actions, `assign`, raised events, and one
 * snapshot object at the end of the macrostep (XState builds a snapshot, with its state value
 * and tags recomputed, after every `assign` and every microstep).
 *
 * Why: a connection's setup is five macrosteps and XState spent ≈ 45 µs on each, mostly on
 * entering `ready`'s four parallel regions (bench/README.md); the pure-machine properties spend
 * most of their time there too. The machine stays the definition — the same StateNode objects,
 * transitions, guards and actions, in the same order — only the interpretation is cached.
 *
 * Equivalence: for every machine it accepts, the snapshots (value, context, status, output,
 * error, `_nodes` order) and the actions handed to the scope's `actionExecutor` (type, params,
 * context and event, in order) are XState's, on every event sequence —
 * test/properties/compiled-machine.test.ts checks it against `machine.transition` for each of
 * lockstep's machines and a generated zoo of small ones; the runner ≡ Actor property runs on it.
 * It accepts machines without `invoke` and history states (`compileMachine` returns undefined
 * for others: the runner then calls XState's transition). Any snapshot it was not given by
 * itself (from an Actor, restored) is read through its `_nodes`; one that is not active is
 * handed to XState's transition unchanged.
 *
 * Only the MachineRunner's scope is served: a delayed `raise` and a `cancel` reach the scope's
 * `actionExecutor` with XState's params (the runner schedules and cancels them itself); a
 * `spawn` inside `assign` fails as the runner does for every child actor.
 */
import { assign as xAssign, cancel as xCancel, createMachine, emit as xEmit, raise as xRaise, sendParent as xSendParent, sendTo as xSendTo, spawnChild as xSpawnChild, stopChild as xStopChild } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import {
  adjacency,
  allStateNodes,
  candidatesOf,
  entrySet,
  exitSet,
  initialNodes,
  isAtomic,
  isInFinalState,
  properAncestors,
  removeConflicts,
  valueFromAdjacency,
  type Node,
  type Transition,
} from './statechart-algorithms.js';

/** What XState's transition code receives as the actor scope; the MachineRunner is one. */
export interface StepScope {
  self: unknown;
  system: unknown;
  actionExecutor(action: { type: string; info: unknown; params: unknown; exec: unknown }): void;
  defer(fn: () => void): void;
}

type AnyEvent = { type: string; [key: string]: unknown };
type Dict = Record<string, unknown>;
// XState's snapshot fields as createMachineSnapshot lays them out.
interface Snap {
  status: string;
  output: unknown;
  error: unknown;
  machine: AnyStateMachine;
  context: Dict;
  _nodes: Node[];
  value: unknown;
  tags: Set<string>;
  children: Dict;
  historyValue: Dict;
}
// A builtin action (assign, raise, cancel, enqueueActions, …): a function with these fields.
interface Builtin {
  type: string;
  resolve(scope: unknown, snapshot: unknown, args: unknown, params: unknown, action: unknown, extra: unknown): [Snap, unknown, unknown[] | undefined];
  execute?: (scope: unknown, params: unknown) => void;
  [field: string]: unknown;
}

// The snapshot methods, taken from a snapshot XState made: the same functions on every snapshot.
const METHODS = (() => {
  const probe = createMachine({}).resolveState({ value: {}, context: {} }) as unknown as Dict;
  return {
    matches: probe.matches,
    hasTag: probe.hasTag,
    can: probe.can,
    getMeta: probe.getMeta,
    toJSON: probe.toJSON,
  };
})();

function makeSnapshot(machine: AnyStateMachine, config: Config, c: { status: string; output: unknown; error: unknown; context: Dict; children: Dict; historyValue: Dict }): Snap {
  // Field order as XState's createMachineSnapshot (toJSON and traces serialise in this order).
  return {
    status: c.status,
    output: c.output,
    error: c.error,
    machine,
    context: c.context,
    _nodes: config.nodes,
    value: config.value,
    tags: config.tags,
    children: c.children,
    historyValue: c.historyValue,
    matches: METHODS.matches,
    hasTag: METHODS.hasTag,
    can: METHODS.can,
    getMeta: METHODS.getMeta,
    toJSON: METHODS.toJSON,
  } as Snap;
}

// ---- what is computed once per configuration and per plan ----

/**
 * How a configuration selects its transitions for one event type: XState's transitionNode over
 * the state value (children first, the node itself only when none of them has one), kept only
 * where some node has candidates.
 */
interface Selector {
  node: Node;
  candidates: Transition[] | undefined;
  // The active children that listen (or have descendants that do), in state-value order.
  children: Selector[];
}

interface EntryStep {
  actions: unknown[];
  // Done events pushed after the node's entry actions: the parent's id, and the final node whose output it carries.
  doneEvents: { id: string; from: Node | undefined }[];
  // The machine reaches its top-level final state here: the completion node for its output.
  machineDone: Node | undefined;
}

interface Plan {
  exits: Node[];
  transitionActions: unknown[];
  entries: EntryStep[];
  doneExitActions: unknown[] | undefined;
  next: Config | undefined; // undefined: the same configuration
}

interface Config {
  nodes: Node[];
  set: Set<Node>;
  value: unknown;
  tags: Set<string>;
  selectors: Map<string, Selector | null>;
  plans: Map<Transition | string, Plan>;
  // Per atomic state (in `_nodes` order), its own and its ancestors' `always` lists, innermost first.
  eventless: Transition[][][] | undefined;
}

// Mutable state of one macrostep: what XState keeps in its successive snapshots.
interface Cursor {
  config: Config;
  context: Dict;
  status: string;
  output: unknown;
  error: unknown;
  children: Dict;
  historyValue: Dict;
  // Bumped wherever XState would make a new snapshot object (an `assign`, a new configuration, done).
  version: number;
  // The snapshot XState's builtins would see now: made only when one asks.
  snapshot: Snap | undefined;
}

const spawnRefused = () => {
  throw new Error('MachineRunner: a machine that invokes or spawns actors needs an Actor');
};

/** The compiled form of one machine; `compileMachine` makes it once per machine object. */
export class CompiledMachine {
  readonly machine: AnyStateMachine;
  #configs = new Map<string, Config>();
  #byNodes = new WeakMap<Node[], Config>();
  #transitionIds = new Map<Transition, number>();
  #knownEventTypes: Set<string>;
  #hasWildcards: boolean;
  #implementations: { actions: Dict; guards: Dict; delays: Dict };
  #maxIterations: number;
  #rootConfig: Config | undefined;
  #start: Transition[] | undefined;

  constructor(machine: AnyStateMachine) {
    this.machine = machine;
    this.#implementations = machine.implementations as never;
    this.#maxIterations = (machine.options as { maxIterations?: number } | undefined)?.maxIterations ?? Infinity;
    const types = new Set<string>();
    let wild = false;
    for (const n of nodesOf(machine)) {
      for (const d of (n.transitions as unknown as Map<string, Transition[]>).keys()) {
        if (d === '*' || d.endsWith('.*')) wild = true;
        types.add(d);
      }
    }
    this.#knownEventTypes = types;
    this.#hasWildcards = wild;
  }

  // ---- configurations ----

  #configOf(nodes: Node[]): Config {
    const cached = this.#byNodes.get(nodes);
    if (cached) return cached;
    const key = nodes.map((n) => n.id).join('\u0000');
    let config = this.#configs.get(key);
    if (!config) {
      const own = nodes.slice();
      const all = allStateNodes(own);
      const eventless: Transition[][][] = [];
      let anyAlways = false;
      for (const n of own) {
        if (!isAtomic(n)) continue;
        const chain = [n, ...properAncestors(n, undefined)].flatMap((s) => (s.always ? [s.always as unknown as Transition[]] : []));
        if (chain.length) anyAlways = true;
        eventless.push(chain);
      }
      config = {
        nodes: own,
        set: new Set(own),
        // Frozen: every snapshot of this configuration hands out this one object (callers may cache by it).
        value: deepFreeze(valueFromAdjacency(this.machine.root, adjacency(all))),
        tags: new Set(own.flatMap((n) => n.tags as string[])),
        selectors: new Map(),
        plans: new Map(),
        eventless: anyAlways ? eventless : undefined,
      };
      this.#configs.set(key, config);
      this.#byNodes.set(own, config);
    }
    this.#byNodes.set(nodes, config);
    return config;
  }

  #selectorOf(config: Config, eventType: string): Selector | null {
    if (!this.#hasWildcards && !this.#knownEventTypes.has(eventType)) return null;
    let selector = config.selectors.get(eventType);
    if (selector === undefined) {
      selector = this.#buildSelector(this.machine.root, config.value, eventType);
      // Event types outside the definition (only reachable through wildcards) are not kept.
      if (this.#knownEventTypes.has(eventType)) config.selectors.set(eventType, selector);
    }
    return selector;
  }

  #buildSelector(node: Node, value: unknown, eventType: string): Selector | null {
    const own = candidatesOf(node, eventType);
    const candidates = own.length ? own : undefined;
    const children: Selector[] = [];
    if (typeof value === 'string') {
      const child = (node.states as Record<string, Node>)[value]!;
      const c = candidatesOf(child, eventType);
      if (c.length) children.push({ node: child, candidates: c, children: [] });
    } else {
      const keys = Object.keys(value as Dict);
      // One key: XState walks it as a compound node; more: every region (a falsy one skipped).
      const parallel = keys.length !== 1;
      for (const key of keys) {
        const sub = (value as Dict)[key];
        if (!sub && parallel) continue;
        const child = (node.states as Record<string, Node>)[key]!;
        const s = this.#buildSelector(child, sub, eventType);
        if (s) children.push(s);
        if (!parallel) break;
      }
    }
    if (!candidates && !children.length) return null;
    return { node, candidates, children };
  }

  // ---- guards and actions, as XState evaluates them ----

  #snapshotNow(cursor: Cursor): Snap {
    return (cursor.snapshot ??= makeSnapshot(this.machine, cursor.config, cursor));
  }

  #guard(guard: unknown, context: Dict, event: AnyEvent, cursor: Cursor): boolean {
    const inline = typeof guard === 'function';
    const name = typeof guard === 'string' ? guard : (guard as { type: string }).type;
    const resolved = inline ? guard : this.#implementations.guards[name];
    if (!inline && !resolved) throw new Error(`Guard '${name}' is not implemented.'.`);
    if (typeof resolved !== 'function') return this.#guard(resolved, context, event, cursor);
    const args = { context, event };
    const g = guard as { params?: unknown };
    const params = inline || typeof guard === 'string' ? undefined : 'params' in g ? (typeof g.params === 'function' ? g.params({ context, event }) : g.params) : undefined;
    if (!('check' in resolved)) return (resolved as (a: unknown, p: unknown) => boolean)(args, params);
    return (resolved as unknown as { check(s: unknown, a: unknown, r: unknown): boolean }).check(this.#snapshotNow(cursor), args, resolved);
  }

  #next(node: Node, candidates: Transition[], event: AnyEvent, cursor: Cursor): Transition | undefined {
    for (const candidate of candidates) {
      const { guard } = candidate;
      let passed = false;
      try {
        passed = !guard || this.#guard(guard, cursor.context, event, cursor);
      } catch (err) {
        const type = typeof guard === 'string' ? guard : typeof guard === 'object' ? (guard as { type: string }).type : undefined;
        throw new Error(`Unable to evaluate guard ${type ? `'${type}' ` : ''}in transition for event '${event.type}' in state node '${node.id}':\n${(err as Error).message}`);
      }
      if (passed) return candidate;
    }
    return undefined;
  }

  // Children first (a compound node has at most one here, a parallel node one per region that
  // listens), the node's own candidates only when none of them chose a transition.
  #select(selector: Selector, event: AnyEvent, cursor: Cursor, out: Transition[]): void {
    const before = out.length;
    for (const child of selector.children) this.#select(child, event, cursor, out);
    if (out.length === before && selector.candidates) {
      const t = this.#next(selector.node, selector.candidates, event, cursor);
      if (t) out.push(t);
    }
  }

  #resolveActions(actions: unknown[], event: AnyEvent, scope: StepScope, cursor: Cursor, queue: AnyEvent[]): void {
    for (const action of actions) {
      const inline = typeof action === 'function';
      const resolved = (inline ? action : this.#implementations.actions[typeof action === 'string' ? action : (action as { type: string }).type]) as
        | (Builtin & ((...a: unknown[]) => unknown))
        | undefined;
      const context = cursor.context;
      const a = action as { params?: unknown; type?: string };
      const params = inline || typeof action === 'string' ? undefined : 'params' in a ? (typeof a.params === 'function' ? a.params({ context, event }) : a.params) : undefined;
      const info = { context, event, self: scope.self, system: scope.system };
      if (!resolved || !('resolve' in resolved)) {
        scope.actionExecutor({
          type: typeof action === 'string' ? action : typeof action === 'object' ? (action as { type: string }).type : (action as { name?: string }).name || '(anonymous)',
          info,
          params,
          exec: resolved,
        });
        continue;
      }
      switch (resolved.type) {
        case 'xstate.assign':
          this.#assign(resolved.assignment, info, params, cursor);
          continue;
        case 'xstate.raise': {
          const raised = this.#raiseParams(resolved, info, params, queue);
          scope.actionExecutor({ type: 'xstate.raise', info, params: raised, exec: resolved.execute!.bind(null, scope, raised) });
          continue;
        }
        case 'xstate.cancel': {
          const sendId = resolved.sendId;
          const cancelled = { sendId: typeof sendId === 'function' ? sendId(info, params) : sendId };
          scope.actionExecutor({ type: 'xstate.cancel', info, params: cancelled, exec: resolved.execute!.bind(null, scope, cancelled) });
          continue;
        }
        case 'xstate.enqueueActions':
          this.#resolveActions(this.#enqueued(resolved, info, params, cursor), event, scope, cursor, queue);
          continue;
        default:
          this.#builtin(resolved, info, params, event, scope, cursor, queue);
      }
    }
  }

  #assign(assignment: unknown, info: { context: Dict; event: AnyEvent; self: unknown; system: unknown }, params: unknown, cursor: Cursor): void {
    if (!cursor.context) throw new Error('Cannot assign to undefined `context`. Ensure that `context` is defined in the machine config.');
    const args = { context: cursor.context, event: info.event, spawn: spawnRefused, self: info.self, system: info.system };
    let partial: Dict = {};
    if (typeof assignment === 'function') partial = assignment(args, params) as Dict;
    else {
      for (const key of Object.keys(assignment as Dict)) {
        const p = (assignment as Dict)[key];
        partial[key] = typeof p === 'function' ? p(args, params) : p;
      }
    }
    cursor.context = Object.assign({}, cursor.context, partial);
    cursor.version++;
    cursor.snapshot = undefined;
  }

  #raiseParams(raise: Builtin, info: unknown, params: unknown, queue: AnyEvent[]): { event: AnyEvent; id: unknown; delay: unknown } {
    const eventOrExpr = raise.event;
    if (typeof eventOrExpr === 'string') {
      throw new Error(`Only event objects may be used with raise; use raise({ type: "${eventOrExpr}" }) instead`);
    }
    const event = (typeof eventOrExpr === 'function' ? eventOrExpr(info, params) : eventOrExpr) as AnyEvent;
    const delay = raise.delay;
    let resolvedDelay: unknown;
    if (typeof delay === 'string') {
      const configured = this.#implementations.delays?.[delay];
      resolvedDelay = typeof configured === 'function' ? configured(info, params) : configured;
    } else resolvedDelay = typeof delay === 'function' ? delay(info, params) : delay;
    if (typeof resolvedDelay !== 'number') queue.push(event);
    return { event, id: raise.id, delay: resolvedDelay };
  }

  // What `enqueueActions` collects into: one `enqueue` for every call (XState makes ten closures
  // per call); it pushes to the list of the collect running now, and nowhere once it returned.
  #collecting: unknown[] | undefined;
  readonly #enqueue = (() => {
    const push = (action: unknown) => {
      this.#collecting?.push(action);
    };
    const creator = (make: unknown) => (...args: unknown[]) => push((make as (...a: unknown[]) => unknown)(...args));
    return Object.assign((action: unknown) => push(action), {
      assign: creator(xAssign),
      cancel: creator(xCancel),
      raise: creator(xRaise),
      sendTo: creator(xSendTo),
      sendParent: creator(xSendParent),
      spawnChild: creator(xSpawnChild),
      stopChild: creator(xStopChild),
      emit: creator(xEmit),
    });
  })();

  #enqueued(builtin: Builtin, info: { context: Dict; event: AnyEvent; self: unknown; system: unknown }, params: unknown, cursor: Cursor): unknown[] {
    const actions: unknown[] = [];
    const outer = this.#collecting;
    this.#collecting = actions;
    // `check` sees the snapshot as it was when the action was reached.
    const context = cursor.context;
    const event = info.event;
    try {
      (builtin.collect as (a: unknown, p: unknown) => void)(
        {
          context: info.context,
          event,
          enqueue: this.#enqueue,
          check: (guard: unknown) => this.#guard(guard, context, event, cursor),
          self: info.self,
          system: info.system,
        },
        params,
      );
    } finally {
      this.#collecting = outer;
    }
    return actions;
  }

  // Any other builtin (log, sendTo, emit, spawnChild, stopChild, …): XState's own resolve, on the snapshot it would see.
  #builtin(builtin: Builtin, info: unknown, params: unknown, event: AnyEvent, scope: StepScope, cursor: Cursor, queue: AnyEvent[]): void {
    const before = this.#snapshotNow(cursor);
    const [next, resolvedParams, more] = builtin.resolve(scope, before, info, params, builtin, { internalQueue: queue, deferredActorIds: undefined });
    if (next !== before) {
      cursor.context = next.context;
      cursor.children = next.children;
      cursor.status = next.status;
      cursor.output = next.output;
      cursor.error = next.error;
      cursor.version++;
      cursor.snapshot = next;
    }
    if ('execute' in builtin) {
      scope.actionExecutor({ type: builtin.type, info, params: resolvedParams, exec: builtin.execute!.bind(null, scope, resolvedParams) });
    }
    if (more) this.#resolveActions(more, event, scope, cursor, queue);
  }

  // ---- microsteps and macrosteps ----

  #planFor(config: Config, transitions: Transition[], initial: boolean): Plan {
    let key: Transition | string;
    if (initial) key = '\u0000initial';
    else if (transitions.length === 1) key = transitions[0]!;
    else {
      key = transitions
        .map((t) => {
          let id = this.#transitionIds.get(t);
          if (id === undefined) this.#transitionIds.set(t, (id = this.#transitionIds.size));
          return id;
        })
        .join(',');
    }
    let plan = config.plans.get(key);
    if (!plan) config.plans.set(key, (plan = this.#makePlan(config, transitions, initial)));
    return plan;
  }

  #makePlan(config: Config, transitions: Transition[], initial: boolean): Plan {
    const set = new Set(config.nodes);
    const filtered = removeConflicts(transitions, set);
    const exits = initial ? [] : exitSet(filtered, set).sort((a, b) => b.order - a.order);
    for (const s of exits) set.delete(s);
    const enter = new Set<Node>();
    const defaults = new Set<Node>();
    entrySet(filtered, defaults, enter);
    if (initial) defaults.add(this.machine.root);
    const entries: EntryStep[] = [];
    const completed = new Set<Node>();
    let done = false;
    for (const n of [...enter].sort((a, b) => a.order - b.order)) {
      set.add(n);
      const actions = [...(n.entry as unknown[])];
      if (defaults.has(n)) actions.push(...(n.initial as unknown as Transition).actions);
      const step: EntryStep = { actions, doneEvents: [], machineDone: undefined };
      if (n.type === 'final') {
        const parent = n.parent;
        let marker = parent?.type === 'parallel' ? parent : parent?.parent;
        let completion = marker || n;
        if (parent?.type === 'compound') step.doneEvents.push({ id: parent.id, from: n });
        while (marker?.type === 'parallel' && !completed.has(marker) && isInFinalState(set, marker)) {
          completed.add(marker);
          step.doneEvents.push({ id: marker.id, from: undefined });
          completion = marker;
          marker = marker.parent;
        }
        if (!marker) {
          step.machineDone = completion;
          done = true;
        }
      }
      entries.push(step);
    }
    const nextNodes = [...set];
    let doneExitActions: unknown[] | undefined;
    if (done) doneExitActions = nextNodes.sort((a, b) => b.order - a.order).flatMap((s) => s.exit as unknown[]);
    const same = config.nodes.length === set.size && config.nodes.every((n) => set.has(n));
    return {
      exits,
      transitionActions: filtered.flatMap((t) => t.actions),
      entries,
      doneExitActions,
      next: same ? undefined : this.#configOf(nextNodes),
    };
  }

  #microstep(transitions: Transition[], event: AnyEvent, scope: StepScope, cursor: Cursor, queue: AnyEvent[], initial: boolean): void {
    if (!transitions.length) return;
    const plan = this.#planFor(cursor.config, transitions, initial);
    for (const s of plan.exits) this.#resolveActions(s.exit as unknown[], event, scope, cursor, queue);
    if (plan.transitionActions.length) this.#resolveActions(plan.transitionActions, event, scope, cursor, queue);
    for (const step of plan.entries) {
      if (step.actions.length) this.#resolveActions(step.actions, event, scope, cursor, queue);
      for (const { id, from } of step.doneEvents) {
        const output = from !== undefined && from.output !== undefined ? resolveOutput(from.output, cursor.context, event, scope.self) : undefined;
        queue.push({ type: `xstate.done.state.${id}`, output });
      }
      if (step.machineDone) {
        cursor.output = this.#machineOutput(cursor.context, event, scope, step.machineDone);
        cursor.status = 'done';
        cursor.version++;
        cursor.snapshot = undefined;
      }
    }
    if (cursor.status === 'done' && plan.doneExitActions) this.#resolveActions(plan.doneExitActions, event, scope, cursor, queue);
    if (plan.next) {
      cursor.config = plan.next;
      cursor.version++;
      cursor.snapshot = undefined;
    }
  }

  #machineOutput(context: Dict, event: AnyEvent, scope: StepScope, completion: Node): unknown {
    const root = this.machine.root;
    if (root.output === undefined) return undefined;
    const doneEvent = {
      type: `xstate.done.state.${completion.id}`,
      output: completion.output !== undefined && completion.parent ? resolveOutput(completion.output, context, event, scope.self) : undefined,
    };
    return resolveOutput(root.output, context, doneEvent, scope.self);
  }

  #eventless(cursor: Cursor, event: AnyEvent): Transition[] {
    const chains = cursor.config.eventless;
    if (!chains) return [];
    const enabled = new Set<Transition>();
    for (const chain of chains) {
      loop: for (const always of chain) {
        for (const t of always) {
          if (t.guard === undefined || this.#guard(t.guard, cursor.context, event, cursor)) {
            enabled.add(t);
            break loop;
          }
        }
      }
    }
    if (!enabled.size) return [];
    return removeConflicts([...enabled], cursor.config.set);
  }

  #macrostep(cursor: Cursor, event: AnyEvent, scope: StepScope, queue: AnyEvent[]): void {
    let nextEvent = event;
    let select = true;
    let iterations = 0;
    while (cursor.status === 'active') {
      if (++iterations > this.#maxIterations) {
        throw new Error(`Infinite loop detected: the machine has processed more than ${this.#maxIterations} microsteps without reaching a stable state. This usually happens when there's a cycle of transitions (e.g., eventless transitions or raised events causing state A -> B -> C -> A).`);
      }
      let enabled: Transition[] = select ? this.#eventless(cursor, nextEvent) : [];
      const previous: number | undefined = enabled.length ? cursor.version : undefined;
      if (!enabled.length) {
        if (!queue.length) break;
        nextEvent = queue.shift()!;
        enabled = this.#selectFor(cursor, nextEvent);
      }
      this.#microstep(enabled, nextEvent, scope, cursor, queue, false);
      select = cursor.version !== previous;
    }
  }

  #selectFor(cursor: Cursor, event: AnyEvent): Transition[] {
    const selector = this.#selectorOf(cursor.config, event.type);
    if (!selector) return [];
    const out: Transition[] = [];
    this.#select(selector, event, cursor, out);
    return out;
  }

  #cursorOf(snapshot: Snap, config: Config): Cursor {
    return {
      config,
      context: snapshot.context,
      status: snapshot.status,
      output: snapshot.output,
      error: snapshot.error,
      children: snapshot.children,
      historyValue: snapshot.historyValue,
      version: 0,
      snapshot,
    };
  }

  /** `machine.transition(snapshot, event, scope)`. */
  transition(snapshot: Snap, event: AnyEvent, scope: StepScope): Snap {
    if (snapshot.status !== 'active' || snapshot.machine !== this.machine || Object.keys(snapshot.children).length) {
      return this.machine.transition(snapshot as never, event as never, scope as never) as unknown as Snap;
    }
    const config = this.#configOf(snapshot._nodes);
    const cursor = this.#cursorOf(snapshot, config);
    if (event.type === 'xstate.stop') return makeSnapshot(this.machine, config, Object.assign({}, cursor, { status: 'stopped' as const }));
    const queue: AnyEvent[] = [];
    const transitions = this.#selectFor(cursor, event);
    if (event.type.startsWith('xstate.error.actor') && !transitions.length) {
      return makeSnapshot(this.machine, config, Object.assign({}, cursor, { status: 'error' as const, error: event.error }));
    }
    this.#microstep(transitions, event, scope, cursor, queue, false);
    this.#macrostep(cursor, event, scope, queue);
    return cursor.version === 0 ? snapshot : this.#snapshotNow(cursor);
  }

  /** `machine.getInitialSnapshot(scope, input)`. */
  getInitialSnapshot(scope: StepScope, input: unknown): Snap {
    const initEvent = { type: 'xstate.init', input };
    const root = this.machine.root;
    const rootConfig = (this.#rootConfig ??= this.#configOf([root]));
    const defined = this.machine.config.context;
    const cursor: Cursor = {
      config: rootConfig,
      context: typeof defined !== 'function' && defined ? (defined as Dict) : {},
      status: 'active',
      output: undefined,
      error: undefined,
      children: {},
      historyValue: {},
      version: 0,
      snapshot: undefined,
    };
    let preInitialContext = cursor.context;
    try {
      if (typeof defined === 'function') {
        const partial = (defined as (a: unknown) => Dict)({ spawn: spawnRefused, input, self: scope.self });
        cursor.context = Object.assign({}, cursor.context, partial);
        cursor.version++;
        preInitialContext = cursor.context;
      }
      const queue: AnyEvent[] = [];
      // XState's initial microstep: one transition from the root to every initial state, the root included.
      const start = (this.#start ??= [{ source: root, target: [...initialNodes(root)], reenter: true, actions: [], eventType: null }]);
      this.#microstep(start, initEvent, scope, cursor, queue, true);
      this.#macrostep(cursor, initEvent, scope, queue);
      return this.#snapshotNow(cursor);
    } catch (error) {
      return makeSnapshot(this.machine, rootConfig, Object.assign({}, cursor, { context: preInitialContext, status: 'error' as const, output: undefined, error }));
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

// Every state node of the machine, in document order (XState's id map).
const nodesOf = (machine: AnyStateMachine): Node[] => [...(machine as unknown as { idMap: Map<string, Node> }).idMap.values()];

function resolveOutput(mapper: unknown, context: Dict, event: unknown, self: unknown): unknown {
  return typeof mapper === 'function' ? mapper({ context, event, self }) : mapper;
}

const COMPILED = new WeakMap<AnyStateMachine, CompiledMachine | null>();

/**
 * The compiled form of `machine`, made once per machine object; undefined for a machine it does
 * not cover (one with `invoke` or a history state), which XState's own transition then runs.
 */
export function compileMachine(machine: AnyStateMachine): CompiledMachine | undefined {
  let compiled = COMPILED.get(machine);
  if (compiled === undefined) {
    const nodes = nodesOf(machine);
    const covered = nodes.every((n) => n.type !== 'history' && !(n.invoke as unknown[]).length);
    compiled = covered ? new CompiledMachine(machine) : null;
    COMPILED.set(machine, compiled);
  }
  return compiled ?? undefined;
}
