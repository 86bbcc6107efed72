/**
 * Bounded exhaustive exploration of a machine with `xstate/graph`, and the coverage that the
 * model tests demand: every state node reached and every transition (each `on`, `after`,
 * `onDone`/`onError` and `always` candidate, guarded branches counted separately) taken by a
 * generated path. The paths are then executed against the real code by each test.
 *
 * Transitions are identified structurally (`<source id> <event type>[<candidate index>]`), not
 * by object identity, so the transitions an actor of a `.provide()`d copy of the machine takes
 * (the server's) are counted against the same list.
 */
import { getAdjacencyMap, getShortestPaths, getStateNodes, type StatePath } from 'xstate/graph';
import { createEmptyActor, type AnyMachineSnapshot, type AnyStateMachine, type AnyStateNode, type EventObject, type InspectionEvent } from 'xstate';

/** Minimal view of xstate's TransitionDefinition (what `@xstate.microstep` reports). */
interface TransitionLike {
  source: AnyStateNode;
  eventType: string;
}

export type Path = StatePath<AnyMachineSnapshot, EventObject>;

export interface ModelSpec {
  name: string;
  machine: AnyStateMachine;
  /** One exploration per input (e.g. with and without upgrade credentials). */
  inputs: unknown[];
  /** Representative events offered in a state; only those the state can take are explored. */
  events: (snapshot: AnyMachineSnapshot) => EventObject[];
  /** What makes two snapshots the same vertex (value + the context that matters). */
  serialize: (snapshot: AnyMachineSnapshot) => string;
}

export interface Exploration {
  name: string;
  /** Every state node id and every transition key of the machine. */
  allStates: string[];
  allTransitions: string[];
  statesReached: Set<string>;
  transitionsTaken: Set<string>;
  /** Distinct (serialized) snapshots and edges of the bounded graph, over all inputs. */
  vertices: number;
  edges: number;
  /** Shortest paths to every vertex, plus one path per edge that takes a transition they miss. */
  explored: number;
  /** The generated paths that are not a prefix of another one: these get executed. */
  paths: Path[];
}

/** `<source id> <event type | always>[<index among that event's candidates>]`. */
export function transitionKey(t: TransitionLike): string {
  const candidates: readonly unknown[] = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  const index = candidates.indexOf(t);
  if (index < 0) throw new Error(`transition ${t.source.id} ${t.eventType} is not a candidate of its source`);
  return `${t.source.id} ${t.eventType === '' ? 'always' : t.eventType}[${index}]`;
}

export function allTransitionKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  for (const node of [machine.root, ...getStateNodes(machine.root)]) {
    for (const [type, candidates] of node.transitions) candidates.forEach((_, i) => keys.push(`${node.id} ${type}[${i}]`));
    (node.always ?? []).forEach((_, i) => keys.push(`${node.id} always[${i}]`));
  }
  return keys;
}

/** The ids of the state nodes a snapshot is in (xstate/graph's own state matcher reads `_nodes` too). */
export function activeStateIds(snapshot: AnyMachineSnapshot): string[] {
  return (snapshot as unknown as { _nodes: AnyStateNode[] })._nodes.map((n) => n.id).filter((id) => id.includes('.'));
}

/** `xstate.after.*` events of the delays the snapshot's active states have scheduled. */
export function delayEvents(snapshot: AnyMachineSnapshot): EventObject[] {
  const nodes = (snapshot as unknown as { _nodes: AnyStateNode[] })._nodes;
  return nodes.flatMap((n) => [...n.transitions.keys()].filter((t) => t.startsWith('xstate.after.')).map((type) => ({ type })));
}

/** Collects the transitions of `@xstate.microstep` inspection events, as keys. */
export function transitionsOf(event: InspectionEvent): string[] {
  if (event.type !== '@xstate.microstep') return [];
  const taken = (event as unknown as { _transitions: TransitionLike[] })._transitions;
  // The initial transition is reported too; it is nobody's candidate, so it is not counted.
  return taken.filter((t) => t.eventType !== 'xstate.init' || t.source.transitions.has(t.eventType)).map(transitionKey);
}

type Scope = Parameters<AnyStateMachine['transition']>[2];

/** A scope like xstate/graph's own: no actions are executed, children are not started. */
function mockScope(record: (keys: string[]) => void): Scope {
  const self = createEmptyActor();
  // xstate reports every microstep's transitions to the system's inspection hook.
  const system = Object.create(self.system) as Scope['system'];
  (system as unknown as { _sendInspectionEvent: (e: InspectionEvent) => void })._sendInspectionEvent = (e) =>
    record(transitionsOf(e));
  return {
    self,
    logger: () => {},
    id: '',
    sessionId: 'model',
    defer: () => {},
    system,
    stopChild: () => {},
    emit: () => {},
    actionExecutor: () => {},
  } as unknown as Scope;
}

const isPrefix = (a: Path, b: Path): boolean =>
  a.steps.length < b.steps.length &&
  a.steps.every((step, i) => JSON.stringify(step.event) === JSON.stringify(b.steps[i]?.event));

/** Vertices dequeued by xstate/graph's traversal; the connection model needs ~8 000. */
const TRAVERSAL_LIMIT = 100_000;

export function explore(spec: ModelSpec): Exploration {
  const statesReached = new Set<string>();
  const transitionsTaken = new Set<string>();
  const generated: Path[] = [];
  let vertices = 0;
  let edges = 0;

  for (const input of spec.inputs) {
    let taken: string[] = [];
    const record = (keys: string[]) => taken.push(...keys);
    // Which transitions each edge (vertex, event) takes, including `always` and raised events
    // processed in the same macrostep.
    const edgeTransitions = new Map<string, string[]>();
    const edgeKey = (s: AnyMachineSnapshot, e: EventObject) => `${spec.serialize(s)}|${JSON.stringify(e)}`;
    const logic = Object.create(spec.machine) as AnyStateMachine;
    logic.transition = (snapshot, event, _scope) => {
      taken = [];
      const next = spec.machine.transition(snapshot, event, mockScope(record));
      edgeTransitions.set(edgeKey(snapshot, event), taken);
      return next;
    };
    const start = spec.machine.getInitialSnapshot(mockScope(record), input);
    const initialTransitions = taken;
    const options = {
      input,
      fromState: start,
      serializeState: (s: AnyMachineSnapshot) => spec.serialize(s),
      limit: TRAVERSAL_LIMIT,
      events: (s: AnyMachineSnapshot) => (s.status === 'active' ? spec.events(s).filter((e) => s.can(e)) : []),
    };

    let adjacency: ReturnType<typeof getAdjacencyMap<AnyMachineSnapshot, EventObject, unknown>>;
    try {
      adjacency = getAdjacencyMap(logic, options);
    } catch (error) {
      // A machine change that makes a counter grow without bound must fail, not hang.
      throw new Error(`${spec.name}: the bounded graph exceeds ${TRAVERSAL_LIMIT} traversal steps (${String(error)}); check the events' bounds`);
    }
    vertices += Object.keys(adjacency).length;
    for (const { state, transitions } of Object.values(adjacency)) {
      for (const id of activeStateIds(state)) statesReached.add(id);
      edges += Object.keys(transitions).length;
    }

    // Shortest path to every vertex, then one more path for each edge that takes a transition
    // no path takes yet: together they reach every vertex and take every transition explored.
    const shortest = getShortestPaths(logic, options);
    const toVertex = new Map(shortest.map((p) => [spec.serialize(p.state), p]));
    const covered = new Set<string>(initialTransitions);
    const cover = (p: Path) => {
      for (let i = 1; i < p.steps.length; i++) {
        for (const key of edgeTransitions.get(edgeKey(p.steps[i - 1]!.state, p.steps[i]!.event)) ?? []) covered.add(key);
      }
    };
    shortest.forEach(cover);
    generated.push(...shortest);
    for (const [vertex, { transitions }] of Object.entries(adjacency)) {
      for (const { event, state: next } of Object.values(transitions) as Array<{ event: EventObject; state: AnyMachineSnapshot }>) {
        const head = toVertex.get(vertex);
        if (head === undefined) throw new Error(`${spec.name}: no path to ${vertex}`);
        const keys = edgeTransitions.get(edgeKey(head.state, event)) ?? [];
        if (keys.every((k) => covered.has(k))) continue;
        const extended: Path = { state: next, weight: head.weight + 1, steps: [...head.steps, { state: next, event }] };
        cover(extended);
        generated.push(extended);
      }
    }
    for (const key of covered) transitionsTaken.add(key);
  }

  const paths = generated.filter((p) => !generated.some((q) => q !== p && isPrefix(p, q)));
  return {
    name: spec.name,
    allStates: getStateNodes(spec.machine.root).map((n) => n.id),
    allTransitions: allTransitionKeys(spec.machine),
    statesReached,
    transitionsTaken,
    vertices,
    edges,
    explored: generated.length,
    paths,
  };
}

/** Throws listing every state node and transition that no generated path covers. */
export function assertComplete(x: Exploration, statesSeen: Set<string>, transitionsSeen: Set<string>): void {
  const missingStates = x.allStates.filter((id) => !statesSeen.has(id));
  const missingTransitions = x.allTransitions.filter((k) => !transitionsSeen.has(k));
  if (missingStates.length + missingTransitions.length > 0) {
    throw new Error(
      `${x.name}: not covered —\n  states: ${missingStates.join(', ') || 'none'}\n  transitions: ${missingTransitions.join(', ') || 'none'}`,
    );
  }
}

export function summary(x: Exploration, executed: number, where: string): string {
  return (
    `[xstate/graph] ${x.name}: ${x.statesReached.size}/${x.allStates.length} state nodes, ` +
    `${x.transitionsTaken.size}/${x.allTransitions.length} transitions, ${x.vertices} distinct states, ` +
    `${x.edges} edges, ${x.explored} paths explored, ${executed} paths executed ${where}`
  );
}
