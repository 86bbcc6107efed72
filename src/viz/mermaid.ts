/**
 * Renders a machine's state chart as a Mermaid `stateDiagram-v2`, read from the machine
 * itself (states, transitions, guards, named delays, invoked actors), so the diagram cannot
 * drift from the code. Deterministic: same machine, same text.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

type Transition = { eventType: string; target?: AnyStateNode[]; guard?: unknown };

function nodeId(node: AnyStateNode): string {
  return node.path.length === 0 ? node.id : node.path.join('_');
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'guard';
}

function eventLabel(eventType: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `${done[1]} done`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `${error[1]} error`;
  return eventType;
}

function edges(node: AnyStateNode, indent: string, from: AnyStateNode[]): string[] {
  const lines: string[] = [];
  for (const [eventType, transitions] of node.transitions as Map<string, Transition[]>) {
    for (const t of transitions) {
      const guard = guardName(t.guard);
      const label = eventLabel(eventType) + (guard ? ` [${guard}]` : '');
      const targets = t.target && t.target.length > 0 ? t.target : undefined;
      for (const source of from) {
        for (const target of targets ?? [source]) lines.push(`${indent}${nodeId(source)} --> ${nodeId(target)} : ${label}`);
      }
    }
  }
  for (const always of (node.always ?? []) as Transition[]) {
    const guard = guardName(always.guard);
    for (const target of always.target ?? []) {
      lines.push(`${indent}${nodeId(node)} --> ${nodeId(target)} : always${guard ? ` [${guard}]` : ''}`);
    }
  }
  return lines;
}

function renderChildren(parent: AnyStateNode, indent: string): string[] {
  const lines: string[] = [];
  const children = Object.values(parent.states) as AnyStateNode[];
  if (parent.type !== 'parallel' && parent.initial?.target[0]) {
    lines.push(`${indent}[*] --> ${nodeId(parent.initial.target[0])}`);
  }
  children.forEach((child, index) => {
    // Regions of a parallel state are drawn side by side, separated by `--`.
    if (parent.type === 'parallel' && index > 0) lines.push(`${indent}--`);
    const invokes = (child.invoke as Array<{ src: unknown }>).map((i) => `invoke ${String(typeof i.src === 'string' ? i.src : 'actor')}`);
    const label = invokes.length > 0 ? `${child.key} (${invokes.join(', ')})` : child.key;
    lines.push(`${indent}state "${label}" as ${nodeId(child)}`);
    if (Object.keys(child.states).length > 0) {
      lines.push(`${indent}state ${nodeId(child)} {`);
      lines.push(...renderChildren(child, `${indent}  `));
      lines.push(`${indent}}`);
    }
    if (child.type === 'final') lines.push(`${indent}${nodeId(child)} --> [*]`);
  });
  // Transitions declared on the parent apply in every non-final child.
  if (parent.path.length === 0 || parent.type === 'compound') {
    const live = children.filter((c) => c.type !== 'final');
    if (parent.path.length === 0) lines.push(...edges(parent, indent, live));
  }
  for (const child of children) lines.push(...edges(child, indent, [child]));
  return lines;
}

export function toMermaid(machine: AnyStateMachine): string {
  return ['stateDiagram-v2', ...renderChildren(machine.root, '  '), ''].join('\n');
}
