/**
 * Writes visualizations/<machine>.mmd for every machine. `npm run viz` runs it; the test
 * test/unit/visualizations.test.ts fails when the committed files are stale.
 */
import { agentRunMachine } from '../../machines/agent-run.js';
import { connectionMachine } from '../../machines/connection.js';
import { handshakeMachine } from '../../machines/handshake.js';
import { toMermaid } from './mermaid.js';

export const MACHINES = {
  handshake: handshakeMachine,
  connection: connectionMachine,
  'agent-run': agentRunMachine,
} as const;

export function renderAll(): Record<string, string> {
  return Object.fromEntries(Object.entries(MACHINES).map(([name, machine]) => [`${name}.mmd`, toMermaid(machine)]));
}
