/**
 * The demo agent as a model streams: one thinking step, one `echo` tool call, then its answer
 * as `text_delta` events — one word (with its trailing space) every `deltaMs`, so a person can
 * watch it arrive and press Stop mid-answer (`lockstep serve --demo-delta-ms N`). It honours
 * `context.signal`: after a cancel (or a deadline) it stops at the next delta and emits
 * nothing more (the run has already ended). `agent_completed` carries `{ deltas }`, not the
 * text: what a client shows is exactly the deltas it assembled, each once.
 *
 * A message that mentions "approve" (or "approval") makes its `echo` tool ask first
 * (`run.requestApproval`): the page shows Approve / Deny, and the tool runs only if approved.
 */
import type { MessageHandler } from './handler.js';
import { demoPause } from './demo-pause.js';

/** How the streaming demo agent is paced (ms). */
export interface DemoPacing {
  /** Pause before each text delta. Default 20 (a model's ~50 tokens per second). */
  deltaMs: number;
  /** Pause before each step before the answer (thinking, tool call). Default 0. */
  stepMs: number;
  /** The answer to a message (split into word deltas). Default {@link demoAnswer}. */
  answer: (text: string) => string;
}

/** The default answer: the echo, then a sentence about what the person is watching. */
export function demoAnswer(text: string): string {
  return `echo: ${text}\n\nThis answer was streamed one word at a time: every word is an event with its own seq, so a tab that reloads or reconnects mid-answer gets the rest exactly once, and Stop ends the run at once.`;
}

export const DEFAULT_DEMO_PACING: DemoPacing = { deltaMs: 20, stepMs: 0, answer: demoAnswer };

/** The answer's deltas: words with their trailing whitespace (concatenated, they are the answer). */
export function answerDeltas(answer: string): string[] {
  return answer.match(/\s*\S+\s*/gy) ?? (answer.length > 0 ? [answer] : []);
}

export function streamingDemoAgent(pacing: Partial<DemoPacing> = {}): MessageHandler {
  const { deltaMs, stepMs, answer } = Object.assign({}, DEFAULT_DEMO_PACING, pacing);
  return async (message, run, context) => {
    const { signal } = context;
    const work = async (ms: number) => {
      await demoPause(ms, signal);
      return !signal.aborted;
    };
    if (!(await work(stepMs))) return;
    run.thinking({ text: 'Reading the message.' });
    const toolCallId = `${run.runId}.echo`;
    if (!(await work(stepMs))) return;
    run.toolStarted(toolCallId, { tool: 'echo', input: { text: message.text } });
    if (/\bapprov/i.test(message.text)) {
      const { approved, reason } = await run.requestApproval(toolCallId, { tool: 'echo', args: { text: message.text } });
      if (signal.aborted || run.ended) return;
      if (!approved) {
        run.toolCompleted(toolCallId, { tool: 'echo', skipped: reason === 'timeout' ? 'no answer in time' : 'denied' });
        run.text(reason === 'timeout' ? 'Nobody answered, so the echo tool did not run.' : 'You said no, so the echo tool did not run.');
        run.complete({ deltas: 1 });
        return;
      }
    }
    run.toolCompleted(toolCallId, { tool: 'echo', output: { text: message.text } });
    const deltas = answerDeltas(answer(message.text));
    for (const delta of deltas) {
      if (!(await work(deltaMs))) return;
      run.text(delta);
    }
    run.complete({ deltas: deltas.length });
  };
}
