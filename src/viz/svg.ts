/**
 * Draws a machine's chart as a standalone SVG with no browser: elkjs computes the layout
 * (hierarchical "layered" algorithm, which nests compound and parallel states and routes
 * edges between levels), and this file writes the nodes, edges and labels itself.
 *
 * Deterministic: text widths are estimated from a monospace font (no DOM to measure), ELK's
 * layered algorithm runs with a fixed seed, and coordinates are rounded — the same machine
 * always gives the same bytes, which is what the staleness test compares.
 *
 * Every state is a `<g class="state" data-state="<xstate id>">`, so a page can highlight the
 * current state with CSS (the demo page does).
 */
import type { AnyStateMachine } from 'xstate';
import { withOptionalPeer } from '../optional-peer.js';
import type { ELK as ElkEngine, ELKConstructorArguments, ElkExtendedEdge, ElkLabel, ElkNode, ElkPoint } from 'elkjs/lib/elk-api.js';
import { chartOf, transitionLabel, type ChartState, type ChartTransition } from './chart-model.js';

const FONT_SIZE = 12;
const LABEL_FONT_SIZE = 11;
/** Advance width of one character of a monospace font, as a fraction of its size. */
const CHAR_WIDTH = 0.6;
const NODE_HEIGHT = 34;
const TITLE_HEIGHT = 26;
const INITIAL_SIZE = 12;
const LINE_HEIGHT = LABEL_FONT_SIZE + 3;

function textWidth(text: string, size: number): number {
  return Math.ceil(text.length * size * CHAR_WIDTH);
}

function stateTitle(state: ChartState): string {
  return state.invokes.length > 0 ? `${state.key} ⟨invoke ${state.invokes.join(', ')}⟩` : state.key;
}

const initialId = (state: ChartState) => `${state.id}#initial`;

function elkNode(state: ChartState): ElkNode {
  const title = stateTitle(state);
  if (state.children.length === 0) {
    return { id: state.id, width: textWidth(title, FONT_SIZE) + 28, height: NODE_HEIGHT };
  }
  const children = state.children.map(elkNode);
  if (state.initial) children.unshift({ id: initialId(state), width: INITIAL_SIZE, height: INITIAL_SIZE });
  return {
    id: state.id,
    children,
    layoutOptions: {
      'elk.padding': `[top=${TITLE_HEIGHT + 8},left=14,bottom=14,right=14]`,
      'elk.nodeSize.constraints': 'MINIMUM_SIZE',
      'elk.nodeSize.minimum': `(${textWidth(title, FONT_SIZE) + 28}, ${TITLE_HEIGHT + 20})`,
      // Regions of a parallel state sit side by side, as in Stately's editor.
      'elk.direction': state.kind === 'parallel' ? 'RIGHT' : 'DOWN',
    },
  };
}

function liveChildren(state: ChartState): ChartState[] {
  return state.children.filter((c) => c.kind !== 'final');
}

interface DrawnEdge {
  source: string;
  target: string;
  /** One line per transition: transitions between the same two states share one arrow. */
  lines: string[];
}

/** Transitions declared on the machine itself apply in every live top-level state: drawn from each. */
function drawnEdges(root: ChartState, transitions: ChartTransition[]): DrawnEdge[] {
  const edges = new Map<string, DrawnEdge>();
  const add = (source: string, target: string, line: string | undefined) => {
    const key = `${source}\u0000${target}`;
    const edge = edges.get(key) ?? { source, target, lines: [] };
    if (line !== undefined && !edge.lines.includes(line)) edge.lines.push(line);
    edges.set(key, edge);
  };
  if (root.initial) add(initialId(root), root.initial, undefined);
  for (const t of transitions) {
    const sources = t.source === root.id ? liveChildren(root).map((c) => c.id) : [t.source];
    for (const source of sources) add(source, t.target ?? source, transitionLabel(t));
  }
  const initials = (state: ChartState): void => {
    if (state.initial && state.id !== root.id) add(initialId(state), state.initial, undefined);
    state.children.forEach(initials);
  };
  initials(root);
  return [...edges.values()];
}

export async function layoutChart(machine: AnyStateMachine): Promise<{ chart: ReturnType<typeof chartOf>; graph: ElkNode }> {
  // Loaded on demand: only `lockstep viz` and its test need the 2 MB layout engine.
  // elk.bundled.js is CommonJS: Node's default import is its module.exports.
  const elk = await withOptionalPeer('elkjs', 'lockstep viz', () => import('elkjs/lib/elk.bundled.js'));
  const ELK = elk.default as unknown as new (args?: ELKConstructorArguments) => ElkEngine;
  const chart = chartOf(machine);
  const rootNode = elkNode(chart.root);
  const edges: ElkExtendedEdge[] = drawnEdges(chart.root, chart.transitions).map((e, index) => ({
    id: `e${index}`,
    sources: [e.source],
    targets: [e.target],
    labels: e.lines.length > 0
      ? [{
          text: e.lines.join('\n'),
          width: Math.max(...e.lines.map((line) => textWidth(line, LABEL_FONT_SIZE))) + 6,
          height: e.lines.length * LINE_HEIGHT + 4,
        }]
      : [],
  }));
  const graph: ElkNode = {
    id: '__root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.randomSeed': '1',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.spacing.nodeNode': '28',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.edgeLabel': '4',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
    },
    children: [rootNode],
    edges,
  };
  const laidOut = await new ELK().layout(graph);
  return { chart, graph: laidOut };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r = (n: number | undefined) => Math.round((n ?? 0) * 10) / 10;

export async function toSvg(machine: AnyStateMachine): Promise<string> {
  const { chart, graph } = await layoutChart(machine);
  const states = new Map<string, ChartState>();
  const index = (s: ChartState): void => {
    states.set(s.id, s);
    s.children.forEach(index);
  };
  index(chart.root);

  // ELK gives child positions relative to their parent; edges relative to their container.
  const origin = new Map<string, ElkPoint>([[graph.id, { x: 0, y: 0 }]]);
  const nodeParts: string[] = [];
  const drawNode = (node: ElkNode, parentOrigin: ElkPoint, parentKind: string | undefined): void => {
    const x = parentOrigin.x + (node.x ?? 0);
    const y = parentOrigin.y + (node.y ?? 0);
    origin.set(node.id, { x, y });
    const w = r(node.width);
    const h = r(node.height);
    const state = states.get(node.id);
    if (node.id.endsWith('#initial')) {
      nodeParts.push(`<circle class="initial" cx="${r(x + INITIAL_SIZE / 2)}" cy="${r(y + INITIAL_SIZE / 2)}" r="${INITIAL_SIZE / 2}"/>`);
    } else if (state) {
      const isRoot = state.id === chart.root.id;
      const region = parentKind === 'parallel';
      const classes = ['state', state.kind, ...(isRoot ? ['machine'] : []), ...(region ? ['region'] : [])].join(' ');
      const title = escapeXml(stateTitle(state));
      const parts = [`<g class="${classes}" data-state="${escapeXml(state.id)}">`];
      parts.push(`<title>${escapeXml(state.id)}</title>`);
      parts.push(`<rect x="${r(x)}" y="${r(y)}" width="${w}" height="${h}" rx="${isRoot ? 4 : 9}"/>`);
      if (state.kind === 'final') parts.push(`<rect class="inner" x="${r(x + 4)}" y="${r(y + 4)}" width="${r(w - 8)}" height="${r(h - 8)}" rx="6"/>`);
      if (state.children.length === 0) {
        parts.push(`<text x="${r(x + w / 2)}" y="${r(y + h / 2 + FONT_SIZE * 0.35)}" text-anchor="middle">${title}</text>`);
      } else {
        parts.push(`<text class="title" x="${r(x + 10)}" y="${r(y + TITLE_HEIGHT * 0.7)}">${title}</text>`);
      }
      parts.push('</g>');
      nodeParts.push(parts.join(''));
    }
    for (const child of node.children ?? []) drawNode(child, { x, y }, state?.kind);
  };
  for (const child of graph.children ?? []) drawNode(child, { x: 0, y: 0 }, undefined);

  const edgeParts: string[] = [];
  const labelParts: string[] = [];
  const drawEdges = (node: ElkNode): void => {
    for (const edge of node.edges ?? []) {
      const containerId = (edge as { container?: string }).container ?? node.id;
      const o = origin.get(containerId) ?? { x: 0, y: 0 };
      for (const section of edge.sections ?? []) {
        const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
        const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(o.x + p.x)},${r(o.y + p.y)}`).join(' ');
        edgeParts.push(`<path class="edge" d="${d}" marker-end="url(#arrow)"/>`);
      }
      for (const label of (edge.labels ?? []) as ElkLabel[]) {
        const lx = o.x + (label.x ?? 0);
        const ly = o.y + (label.y ?? 0);
        labelParts.push(
          `<g class="edge-label"><rect x="${r(lx)}" y="${r(ly)}" width="${r(label.width)}" height="${r(label.height)}"/>` +
            `<text>${(label.text ?? '').split('\n').map((line, i) =>
              `<tspan x="${r(lx + 3)}" y="${r(ly + LABEL_FONT_SIZE + i * LINE_HEIGHT)}">${escapeXml(line)}</tspan>`).join('')}</text></g>`,
        );
      }
    }
    for (const child of node.children ?? []) drawEdges(child);
  };
  drawEdges(graph);

  const width = r(graph.width);
  const height = r(graph.height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(`${chart.id} state chart`)}">`,
    `<title>${escapeXml(`${chart.id} state chart (generated by lockstep viz)`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>',
    '<style>',
    `text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:${FONT_SIZE}px;fill:#0f172a}`,
    '.state>rect{fill:#f8fafc;stroke:#334155;stroke-width:1.2}',
    '.state.compound>rect,.state.parallel>rect{fill:#f1f5f9}',
    '.state.region>rect{fill:#ffffff;stroke-dasharray:5 4}',
    '.state.machine>rect{fill:#ffffff;stroke:#94a3b8}',
    '.state.final>rect.inner{fill:none}',
    '.state .title{font-weight:bold}',
    '.state.active>rect{fill:#fde68a;stroke:#b45309;stroke-width:2.4}',
    '.initial{fill:#0f172a}',
    '.edge{fill:none;stroke:#475569;stroke-width:1.1}',
    `.edge-label rect{fill:#ffffff;fill-opacity:0.85}.edge-label text{font-size:${LABEL_FONT_SIZE}px;fill:#334155}`,
    '</style>',
    ...nodeParts,
    ...edgeParts,
    ...labelParts,
    '</svg>',
    '',
  ].join('\n');
}
