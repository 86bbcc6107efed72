/**
 * XState 5's statechart algorithms on its StateNode objects (SCXML's exit, entry and conflict
 * sets, initial states, state values, event descriptors), ported function by function so that
 * compiled-machine.ts can run them once per configuration instead of once per event. Each keeps
 * XState's iteration order: the order of `_nodes`, of entered states and of the state value's
 * keys is observable (snapshots, traces). History states are left out: a machine with one is
 * not compiled.
 */
import type { AnyStateNode } from 'xstate';

export type Node = AnyStateNode;
/** A transition as XState formats it (StateNode.transitions, .always, .initial). */
export interface Transition {
  source: Node;
  target: Node[] | undefined;
  actions: unknown[];
  guard?: unknown;
  reenter: boolean;
  eventType: string | null;
}
type Dict = Record<string, unknown>;

export const isAtomic = (n: Node) => n.type === 'atomic' || n.type === 'final';
export const childrenOf = (n: Node): Node[] => Object.values(n.states as Record<string, Node>).filter((s) => s.type !== 'history');

export function properAncestors(n: Node, to: Node | undefined): Node[] {
  const out: Node[] = [];
  if (to === n) return out;
  for (let m = n.parent; m && m !== to; m = m.parent) out.push(m);
  return out;
}

export function isDescendant(child: Node, parent: Node | undefined): boolean {
  let marker = child;
  while (marker.parent && marker.parent !== parent) marker = marker.parent;
  return marker.parent === parent;
}

export function initialNodes(n: Node): Set<Node> {
  const set = new Set<Node>();
  const iter = (d: Node) => {
    if (set.has(d)) return;
    set.add(d);
    if (d.type === 'compound') iter((d.initial as unknown as Transition).target![0]!);
    else if (d.type === 'parallel') for (const c of childrenOf(d)) iter(c);
  };
  iter(n);
  return set;
}

export function initialWithAncestors(n: Node): Set<Node> {
  const states = initialNodes(n);
  for (const s of states) for (const a of properAncestors(s, n)) states.add(a);
  return states;
}

export function adjacency(nodes: Iterable<Node>): Map<Node, Node[]> {
  const adj = new Map<Node, Node[]>();
  for (const s of nodes) {
    if (!adj.has(s)) adj.set(s, []);
    if (s.parent) {
      if (!adj.has(s.parent)) adj.set(s.parent, []);
      adj.get(s.parent)!.push(s);
    }
  }
  return adj;
}

export function allStateNodes(nodes: Node[]): Set<Node> {
  const set = new Set(nodes);
  const adj = adjacency(set);
  for (const s of set) {
    if (s.type === 'compound' && !adj.get(s)?.length) {
      for (const i of initialWithAncestors(s)) set.add(i);
    } else if (s.type === 'parallel') {
      for (const child of childrenOf(s)) {
        if (!set.has(child)) for (const i of initialWithAncestors(child)) set.add(i);
      }
    }
  }
  for (const s of set) for (let m = s.parent; m; m = m.parent) set.add(m);
  return set;
}

export function valueFromAdjacency(base: Node, adj: Map<Node, Node[]>): unknown {
  const kids = adj.get(base);
  if (!kids) return {};
  if (base.type === 'compound') {
    const kid = kids[0];
    if (kid) {
      if (isAtomic(kid)) return kid.key;
    } else return {};
  }
  const value: Dict = {};
  for (const kid of kids) value[kid.key] = valueFromAdjacency(kid, adj);
  return value;
}

export function isInFinalState(set: Set<Node>, n: Node): boolean {
  if (n.type === 'compound') return childrenOf(n).some((s) => s.type === 'final' && set.has(s));
  if (n.type === 'parallel') return childrenOf(n).every((s) => isInFinalState(set, s));
  return n.type === 'final';
}

export function transitionDomain(t: Transition): Node | undefined {
  const targets = t.target ?? [];
  if (!t.reenter && targets.every((s) => s === t.source || isDescendant(s, t.source))) return t.source;
  const all = targets.concat(t.source);
  const [head, ...tail] = all;
  for (const a of properAncestors(head!, undefined)) if (tail.every((s) => isDescendant(s, a))) return a;
  if (t.reenter) return undefined;
  return t.source.machine.root;
}

export function exitSet(transitions: Transition[], set: Set<Node>): Node[] {
  const exits = new Set<Node>();
  for (const t of transitions) {
    if (t.target?.length) {
      const domain = transitionDomain(t);
      if (t.reenter && t.source === domain) exits.add(domain);
      for (const s of set) if (isDescendant(s, domain)) exits.add(s);
    }
  }
  return [...exits];
}

export function intersects(a: Node[], b: Node[]): boolean {
  const sb = new Set(b);
  return a.some((n) => sb.has(n));
}

export function removeConflicts(enabled: Transition[], set: Set<Node>): Transition[] {
  const filtered = new Set<Transition>();
  for (const t1 of enabled) {
    let preempted = false;
    const remove = new Set<Transition>();
    for (const t2 of filtered) {
      if (intersects(exitSet([t1], set), exitSet([t2], set))) {
        if (isDescendant(t1.source, t2.source)) remove.add(t2);
        else {
          preempted = true;
          break;
        }
      }
    }
    if (!preempted) {
      for (const t3 of remove) filtered.delete(t3);
      filtered.add(t1);
    }
  }
  return [...filtered];
}

export function addDescendants(n: Node, defaults: Set<Node>, enter: Set<Node>): void {
  if (n.type === 'compound') {
    const initial = (n.initial as unknown as Transition).target![0]!;
    enter.add(initial);
    defaults.add(initial);
    addDescendants(initial, defaults, enter);
    addAncestors(enter, defaults, properAncestors(initial, n), undefined);
  } else if (n.type === 'parallel') {
    for (const child of childrenOf(n)) {
      if (![...enter].some((s) => isDescendant(s, child))) {
        enter.add(child);
        defaults.add(child);
        addDescendants(child, defaults, enter);
      }
    }
  }
}

export function addAncestors(enter: Set<Node>, defaults: Set<Node>, ancestors: Node[], domain: Node | undefined): void {
  for (const a of ancestors) {
    if (!domain || isDescendant(a, domain)) enter.add(a);
    if (a.type === 'parallel') {
      for (const child of childrenOf(a)) {
        if (![...enter].some((s) => isDescendant(s, child))) {
          enter.add(child);
          addDescendants(child, defaults, enter);
        }
      }
    }
  }
}

export function entrySet(transitions: Transition[], defaults: Set<Node>, enter: Set<Node>): void {
  for (const t of transitions) {
    const domain = transitionDomain(t);
    for (const s of t.target ?? []) {
      if (t.source !== s || t.source !== domain || t.reenter) {
        enter.add(s);
        defaults.add(s);
      }
      addDescendants(s, defaults, enter);
    }
    for (const s of t.target ?? []) {
      const ancestors = properAncestors(s, domain);
      if (domain?.type === 'parallel') ancestors.push(domain);
      addAncestors(enter, defaults, ancestors, !t.source.parent && t.reenter ? undefined : domain);
    }
  }
}

export function matchesDescriptor(eventType: string, descriptor: string): boolean {
  if (descriptor === eventType || descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const partial = descriptor.split('.');
  const tokens = eventType.split('.');
  for (let i = 0; i < partial.length; i++) {
    if (partial[i] === '*') return i === partial.length - 1;
    if (partial[i] !== tokens[i]) return false;
  }
  return true;
}

export function candidatesOf(n: Node, eventType: string): Transition[] {
  const transitions = n.transitions as unknown as Map<string, Transition[]>;
  const exact = transitions.get(eventType);
  const wild = [...transitions.keys()]
    .filter((d) => d !== eventType && matchesDescriptor(eventType, d))
    .sort((a, b) => b.length - a.length)
    .flatMap((d) => transitions.get(d)!);
  return exact ? [...exact, ...wild] : wild;
}
