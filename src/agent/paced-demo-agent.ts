/**
 * The demo agent with `stepMs` of simulated work before each step, so a run stays in flight
 * long enough to stop or kill its node mid-run (`lockstep serve --demo-step-ms N`). The
 * pause stands for the agent's own work; it orders nothing. A cancelled run (context.signal)
 * stops at the next step: its end is already on the stream.
 */
import type { MessageHandler } from './handler.js';
import { demoPause } from './demo-pause.js';

export function pacedDemoAgent(stepMs: number): MessageHandler {
  return async (message, run, context) => {
    const work = async () => {
      await demoPause(stepMs, context.signal);
      return !context.signal.aborted;
    };
    if (!(await work())) return;
    run.thinking({ text: 'Reading the message.' });
    const toolCallId = `${run.runId}.echo`;
    if (!(await work())) return;
    run.toolStarted(toolCallId, { tool: 'echo', input: { text: message.text } });
    if (!(await work())) return;
    run.toolCompleted(toolCallId, { tool: 'echo', output: { text: message.text } });
    if (!(await work())) return;
    run.complete({ text: `echo: ${message.text}` });
  };
}
