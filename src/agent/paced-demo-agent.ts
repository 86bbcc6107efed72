/**
 * The demo agent with `stepMs` of simulated work before each step, so a run stays in flight
 * long enough to stop or kill its node mid-run (`lockstep serve --demo-step-ms N`). The
 * pause stands for the agent's own work; it orders nothing.
 */
import type { MessageHandler } from './handler.js';

const work = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function pacedDemoAgent(stepMs: number): MessageHandler {
  return async (message, run) => {
    await work(stepMs);
    run.thinking({ text: 'Reading the message.' });
    const toolCallId = `${run.runId}.echo`;
    await work(stepMs);
    run.toolStarted(toolCallId, { tool: 'echo', input: { text: message.text } });
    await work(stepMs);
    run.toolCompleted(toolCallId, { tool: 'echo', output: { text: message.text } });
    await work(stepMs);
    run.complete({ text: `echo: ${message.text}` });
  };
}
