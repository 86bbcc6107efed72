/**
 * A machine's chart as plain data — states (a tree), transitions (edges) and their labels —
 * read from the compiled machine, so the SVG and the Stately definition draw exactly what the
 * code does. Deterministic: states and transitions keep their declaration order.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final';

export interface ChartState {
  /** xstate's state id (`connection.ready.flow`), unique in the machine. */
  id: string;
  key: string;
  kind: StateKind;
  /** Sources of the actors this state invokes, by name. */
  invokes: string[];
  /** The invoked actors' ids, in the same order (`onDone`/`onError` events name them). */
  invokeIds: string[];
  /** Id of the initial child (compound states only). */
  initial?: string;
  children: ChartState[];
}

export interface ChartTransition {
  /** Raw event type, e.g. `socket.frame`, `xstate.after.heartbeat.connection.ready…`. */
  eventType: string;
  /** What a reader sees: `after heartbeat`, `verifyToken done`, `always`, or the event type. */
  event: string;
  source: string;
  /** Undefined for a targetless transition (actions only: drawn as a loop). */
  target: string | undefined;
  guard?: string;
  /** Named actions (inline functions and xstate built-ins have no name to show). */
  actions: string[];
  /** The delay's name for `after` transitions. */
  delay?: string;
  /** The invoked actor's src for `onDone` / `onError` transitions. */
  invokeDone?: { src: string; id: string; kind: 'done' | 'error' };
}

export interface Chart {
  id: string;
  root: ChartState;
  /** Every transition as declared on its own state (root-level ones keep source = root). */
  transitions: ChartTransition[];
}

type RawTransition = {
  eventType: string;
  target?: AnyStateNode[];
  guard?: unknown;
  actions?: readonly unknown[];
};

/** `isAuthFrame`, `{ type: 'isAuthFrame', params }`, or a combinator such as `not(bucketFull)`. */
export function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const inner = (guard as { guards?: unknown }).guards;
    if (Array.isArray(inner)) return `${guard.name}(${inner.map((g) => guardName(g) ?? 'guard').join(', ')})`;
    return guard.name || 'guard';
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'guard';
}

function actionName(action: unknown): string | undefined {
  if (typeof action === 'string') return action;
  if (typeof action === 'object' && action !== null && 'type' in action) {
    const type = String((action as { type: unknown }).type);
    return type.startsWith('xstate.') ? undefined : type;
  }
  return undefined;
}

function stateOf(node: AnyStateNode): ChartState {
  const kind: StateKind = node.type === 'final' ? 'final' : node.type === 'parallel' ? 'parallel'
    : Object.keys(node.states).length > 0 ? 'compound' : 'atomic';
  const state: ChartState = {
    id: node.id,
    key: node.path.length === 0 ? node.id : node.key,
    kind,
    invokes: (node.invoke as Array<{ src: unknown }>).map((i) => (typeof i.src === 'string' ? i.src : 'actor')),
    invokeIds: (node.invoke as Array<{ id: string }>).map((i) => i.id),
    children: (Object.values(node.states) as AnyStateNode[]).map(stateOf),
  };
  const initial = node.type === 'compound' ? node.initial?.target[0] : undefined;
  if (initial) state.initial = initial.id;
  return state;
}

function transitionsOf(node: AnyStateNode): ChartTransition[] {
  const invokes = node.invoke as Array<{ id: string; src: unknown }>;
  const srcOf = (id: string) => String(invokes.find((i) => i.id === id)?.src ?? id);
  const out: ChartTransition[] = [];
  const push = (eventType: string, t: RawTransition) => {
    const transition: ChartTransition = {
      eventType,
      event: eventType,
      source: node.id,
      target: t.target && t.target.length > 0 ? t.target[0]?.id : undefined,
      actions: (t.actions ?? []).map(actionName).filter((a): a is string => a !== undefined),
    };
    const guard = guardName(t.guard);
    if (guard !== undefined) transition.guard = guard;
    const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
    const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
    if (after?.[1]) {
      transition.delay = after[1];
      transition.event = `after ${after[1]}`;
    } else if (done?.[1] && done[2]) {
      const src = srcOf(done[2]);
      transition.invokeDone = { src, id: done[2], kind: done[1] as 'done' | 'error' };
      transition.event = `${src} ${done[1]}`;
    } else if (eventType === '') {
      transition.event = 'always';
    }
    out.push(transition);
  };
  for (const [eventType, list] of node.transitions as Map<string, RawTransition[]>) {
    for (const t of list) push(eventType, t);
  }
  for (const t of (node.always ?? []) as RawTransition[]) push('', t);
  for (const child of Object.values(node.states) as AnyStateNode[]) out.push(...transitionsOf(child));
  return out;
}

export function chartOf(machine: AnyStateMachine): Chart {
  return { id: machine.root.id, root: stateOf(machine.root), transitions: transitionsOf(machine.root) };
}

/** `event [guard]`: the label an edge carries. */
export function transitionLabel(t: ChartTransition): string {
  return t.guard ? `${t.event} [${t.guard}]` : t.event;
}
