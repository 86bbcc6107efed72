/**
 * Writes visualizations/<machine>.mmd for every machine. `npm run viz` runs it; the test
 * test/unit/visualizations.test.ts fails when the committed files are stale.
 */
import { agentRunMachine } from '../../machines/agent-run.js';
import { connectionMachine } from '../../machines/connection.js';
import { handshakeMachine } from '../../machines/handshake.js';
import { serverLifecycleMachine } from '../../machines/server-lifecycle.js';
import { leaseKeeperMachine } from '../../machines/lease-keeper.js';
import { toMermaid } from './mermaid.js';

export const MACHINES = {
  handshake: handshakeMachine,
  connection: connectionMachine,
  'agent-run': agentRunMachine,
  'server-lifecycle': serverLifecycleMachine,
  'lease-keeper': leaseKeeperMachine,
} as const;

const DESCRIPTIONS: Record<keyof typeof MACHINES, string> = {
  handshake:
    'credentials → verification → backend readiness. `authenticating` (with its `awaitingCredentials` and `verifying` children) has one `authTimeout` budget (4408); `checkingBackend` waits on the embedder\'s `ready()` within `backendTimeout` (1013); `accepted` and `rejected` are final and become the machine\'s output.',
  connection:
    'one actor per socket. `handshaking` holds early frames and runs the handshake child; `joining` subscribes to the user\'s stream; `ready` sends the `ready` frame, re-raises held frames in order and runs the heartbeat; `closing` waits `closeTimeout` for the peer\'s close, `terminating` cuts the socket; `closed` is final.',
  'agent-run':
    'one actor per run: `started` → `thinking` / `toolsOpen` (tool calls matched by id) → `completed` | `failed`. `complete` has no transition from `toolsOpen`, so it is refused while a tool call is open.',
  'server-lifecycle':
    'one actor per server: `draining` refuses new upgrades while in-flight runs finish (at most `drainTimeout` = `drainMs`), `closingConnections` sends 1001 to every socket, `closed` once every connection actor is closed.',
  'lease-keeper':
    'one actor per node with a Redis scale-out: every `renewInterval` (lease time / 3) it renews the leases of the runs this node started and ends runs whose lease expired with `agent_error { reason: node_lost }`; `stopped` once the server closed.',
};

const README_HEAD = `# State charts

Generated from the machines by \`npm run viz\` (\`lockstep viz\`); \`test/unit/visualizations.test.ts\`
fails when these files are stale. The \`.mmd\` files paste into any Mermaid renderer; GitHub renders
the blocks below.
`;

/** Every generated file, by name under visualizations/. */
export function renderAll(): Record<string, string> {
  const files: Record<string, string> = {};
  const sections = [README_HEAD];
  for (const [name, machine] of Object.entries(MACHINES) as Array<[keyof typeof MACHINES, (typeof MACHINES)[keyof typeof MACHINES]]>) {
    const chart = toMermaid(machine);
    files[`${name}.mmd`] = chart;
    sections.push(`## ${name}\n\n${DESCRIPTIONS[name]}\n\n\`\`\`mermaid\n${chart}\`\`\`\n`);
  }
  files['README.md'] = sections.join('\n');
  return files;
}
