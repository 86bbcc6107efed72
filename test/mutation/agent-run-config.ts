/** The run machine's config seen as plain data, so a mutant can be derived from it. */
import { agentRunMachine } from '../../machines/agent-run.js';

export { agentRunMachine };

export interface AgentRunMachineConfig {
  states: Record<string, { on?: Record<string, unknown> } & Record<string, unknown>> & {
    toolsOpen: { on: Record<string, unknown> } & Record<string, unknown>;
  };
  [key: string]: unknown;
}
