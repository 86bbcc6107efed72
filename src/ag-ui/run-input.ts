/**
 * The RunAgentInput lockstep POSTs to an AG-UI agent for one message (AG-UI 1.0): the thread
 * is the message's `threadId` (or `lockstep.<runId>` when the client gave none — every run its
 * own thread), the run id is lockstep's, the one message is the user's, state, tools and
 * context are empty (lockstep keeps no agent state), and the message's `metadata` is passed as
 * `forwardedProps`.
 */
import type { IncomingMessage } from '../agent/handler.js';
import type { RunHandle } from '../agent/run-handle.js';

/** The fields of AG-UI's RunAgentInput lockstep sends. */
export interface LockstepRunAgentInput {
  threadId: string;
  runId: string;
  state: Record<string, never>;
  messages: Array<{ id: string; role: 'user'; content: string }>;
  tools: [];
  context: [];
  forwardedProps: Record<string, unknown>;
}

/** The RunAgentInput for `message` on `run` (see the module comment). */
export function runAgentInput(message: IncomingMessage, run: Pick<RunHandle, 'runId' | 'threadId'>): LockstepRunAgentInput {
  return {
    threadId: message.threadId ?? run.threadId ?? `lockstep.${run.runId}`,
    runId: run.runId,
    state: {},
    messages: [{ id: message.id, role: 'user', content: message.text }],
    tools: [],
    context: [],
    forwardedProps: message.metadata ?? {},
  };
}
