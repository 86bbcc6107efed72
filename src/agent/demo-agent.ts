/**
 * The deterministic demo agent behind `lockstep serve` and the tests: one thinking step, one
 * tool call, and a reply `echo: <text>`. No clock, no randomness: the same message always
 * produces the same five events.
 */
import type { MessageHandler } from './handler.js';

/** The default handler: `agent_thinking`, one `echo` tool call, then `agent_completed` with `echo: <text>`. */
export const demoAgent: MessageHandler = (message, run) => {
  run.thinking({ text: 'Reading the message.' });
  const toolCallId = `${run.runId}.echo`;
  run.toolStarted(toolCallId, { tool: 'echo', input: { text: message.text } });
  run.toolCompleted(toolCallId, { tool: 'echo', output: { text: message.text } });
  run.complete({ text: `echo: ${message.text}` });
};
