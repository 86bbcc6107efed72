/**
 * Writes, for every machine, visualizations/<machine>.mmd (Mermaid), <machine>.svg (laid out
 * by elkjs, drawn here, no browser) and <machine>.stately.ts (a createMachine() call for
 * Stately's editor), plus visualizations/README.md. `npm run viz` runs it; the test
 * test/unit/visualizations.test.ts fails when the committed files are stale.
 */
import { agentRunMachine } from '../../machines/agent-run.js';
import { connectionMachine } from '../../machines/connection.js';
import { serverLifecycleMachine } from '../../machines/server-lifecycle.js';
import { chartOf, type ChartState } from './chart-model.js';
import { leaseKeeperMachine } from '../../machines/lease-keeper.js';
import { clientMachine } from '../../machines/client.js';
import { toMermaid } from './mermaid.js';
import { STATE_NOTES } from './state-notes.js';
import { toStatelyDefinition } from './stately.js';
import { toSvg } from './svg.js';

export const MACHINES = {
  connection: connectionMachine,
  'agent-run': agentRunMachine,
  'server-lifecycle': serverLifecycleMachine,
  'lease-keeper': leaseKeeperMachine,
  client: clientMachine,
} as const;

const DESCRIPTIONS: Record<keyof typeof MACHINES, string> = {
  connection:
    'one actor per socket. `handshaking` is the handshake: `authenticating` (`awaitingCredentials` → `verifying`, one `authTimeout` budget, 4408) asks the adapter to verify the token (`auth.verified` / `auth.refused`, 4401), `checkingBackend` asks for the embedder\'s `ready()` (`backend.ready` / `backend.unavailable` or `backendTimeout`: 1013, never 1011); it holds early frames throughout. `joining` subscribes to the user\'s stream; `ready` sends the `ready` frame, re-raises held frames in order and runs the heartbeat; `closing` waits `closeTimeout` for the peer\'s close, `terminating` cuts the socket; `closed` is final.',
  'agent-run':
    'one actor per run: `started` → `thinking` / `toolsOpen` (tool calls matched by id) → `completed` | `failed`. `complete` has no transition from `toolsOpen`, so it is refused while a tool call is open.',
  'server-lifecycle':
    'one actor per server: `draining` refuses new upgrades while in-flight runs finish (at most `drainTimeout` = `drainMs`), `closingConnections` sends 1001 to every socket, `closed` once every connection actor is closed — or after `closeGrace` (`closeGraceMs`), when every socket still open is destroyed (`forceClose`).',
  'lease-keeper':
    'one actor per node with a Redis scale-out: every `renewInterval` (lease time / 3) it renews the leases of the runs this node started and ends runs whose lease expired with `agent_error { reason: node_lost }`; `stopped` once the server closed.',
  client:
    'one actor per `createLockstepClient` (`lockstep/client`): `connecting` opens the socket with the stored resume point, `authenticating` waits for `ready`, `ready` sends the outbox and applies acks and events, `reconnecting` waits `backoff` (exponential, with the jitter reported as a fact), `fetchingToken` runs `getToken` first and after a 4401; `closed`, `unauthorized` and `refused` are final (reconnecting cannot help).',
};

const README_HEAD = `# State charts

Generated from the machines by \`npm run viz\` (\`lockstep viz\`); \`test/unit/visualizations.test.ts\`
fails when these files are stale, and running the generator twice changes nothing. For every machine:

- \`<machine>.svg\` — the chart drawn offline, without a browser (below);
- \`<machine>.stately.ts\` — a \`createMachine({...})\` call with the same states, transitions, guards
  and delays (by name) and a description per state: paste it into Stately's editor
  (<https://stately.ai/editor>, Code panel → **Import**) to explore and simulate the chart;
- \`<machine>.mmd\` — Mermaid \`stateDiagram-v2\`, for any Mermaid renderer.

Why elkjs for the SVG: it is the Eclipse Layout Kernel compiled to JavaScript — pure JS, no
browser, no native binary, no network — and its \`layered\` algorithm handles what a state chart
needs: nested compound and parallel states laid out inside their parents, and edges routed
across levels (\`hierarchyHandling: INCLUDE_CHILDREN\`). Mermaid's own renderer needs a DOM
(a headless browser) to measure text; Graphviz would be a native binary to install. elkjs only
computes positions: the boxes, arrows and labels are written by \`src/viz/svg.ts\`, with text
widths estimated for a monospace font and coordinates rounded, so the output is byte-for-byte
reproducible. It is an optional peer dependency (a devDependency here), loaded only by \`lockstep viz\`.

Transitions between the same two states share one arrow (one label line each); transitions
declared on the machine itself (e.g. \`socket.close\`) are drawn from every live top-level state.
`;

function stateList(state: ChartState, depth: number): string[] {
  const lines: string[] = [];
  for (const child of state.children) {
    const note = STATE_NOTES[child.id];
    if (note === undefined) throw new Error(`src/viz/state-notes.ts has no sentence for state "${child.id}"`);
    lines.push(`${'  '.repeat(depth)}- \`${child.key}\` — ${note}`);
    lines.push(...stateList(child, depth + 1));
  }
  return lines;
}

/** Every generated file, by name under visualizations/. */
export async function renderAll(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const sections = [README_HEAD];
  for (const [name, machine] of Object.entries(MACHINES) as Array<[keyof typeof MACHINES, (typeof MACHINES)[keyof typeof MACHINES]]>) {
    const chart = toMermaid(machine);
    files[`${name}.mmd`] = chart;
    files[`${name}.svg`] = await toSvg(machine);
    files[`${name}.stately.ts`] = toStatelyDefinition(machine, DESCRIPTIONS[name], STATE_NOTES);
    sections.push(
      [
        `## ${name}`,
        '',
        DESCRIPTIONS[name],
        '',
        `![${name} state chart](${name}.svg)`,
        '',
        ...stateList(chartOf(machine).root, 0),
        '',
        `Stately: [\`${name}.stately.ts\`](${name}.stately.ts) · Mermaid: [\`${name}.mmd\`](${name}.mmd)`,
        '',
        '<details><summary>Mermaid</summary>',
        '',
        '```mermaid',
        chart + '```',
        '',
        '</details>',
        '',
      ].join('\n'),
    );
  }
  files['README.md'] = sections.join('\n');
  return files;
}
