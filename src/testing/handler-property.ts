/**
 * Fuzz your own handler: for random messages, it runs under the same contract as in the server
 * (run handle checked by the run machine, outcome turned into completion or agent_error), and
 * the property fails when the handler emits out of order (LOCKSTEP_ERR_EVENT_ORDER inside it),
 * throws, or ends a run in a way clients would see as anything but a complete word of I6.
 */
import fc from 'fast-check';
import { runHandler, type MessageHandler } from '../agent/handler.js';
import { startRun } from '../agent/run-handle.js';
import type { AgentEventName } from '../protocol/frames.js';
import { checkRunGrammar, type RunEventRecord } from './run-grammar.js';

/** Options of `handlerProperty`: the message texts to try, and whether throwing is acceptable. */
export interface HandlerPropertyOptions {
  /** Message texts to try. Default: any string up to 200 characters. */
  text?: fc.Arbitrary<string>;
  /** Accept handlers that throw (they end with agent_error handler_error). Default false. */
  allowThrow?: boolean;
}

/** A property for your own handler: for any message, a complete and well-ordered run, no throw, no tool call left open (I6). */
export function handlerProperty(handler: MessageHandler, options: HandlerPropertyOptions = {}) {
  return fc.asyncProperty(options.text ?? fc.string({ maxLength: 200 }), async (text) => {
    const emitted: Array<RunEventRecord & { data: unknown }> = [];
    const emit = (event: AgentEventName, data: unknown) =>
      emitted.push({ event, data, toolCallId: (data as { toolCallId?: string } | undefined)?.toolCallId });
    const run = startRun('fuzz.1', 'fuzz-user', emit);
    const faults: unknown[] = [];
    await runHandler(handler, { id: 'm1', text }, run, { userId: 'fuzz-user', connectionId: 'fuzz', signal: new AbortController().signal }, (error) => faults.push(error));
    const problems = checkRunGrammar(emitted, true);
    for (const fault of faults) {
      const code = (fault as { code?: string }).code;
      if (code === 'LOCKSTEP_ERR_EVENT_ORDER') problems.push(`the handler emitted out of order: ${(fault as Error).message}`);
      else if (!options.allowThrow) problems.push(`the handler threw: ${String(fault)}`);
    }
    const last = emitted.at(-1);
    if (last?.event === 'agent_error' && (last.data as { reason?: string }).reason === 'tool_calls_open') {
      problems.push(`the handler returned with tool calls open: ${JSON.stringify(last.data)}`);
    }
    if (problems.length > 0) {
      throw new Error(`I6 (your handler): ${problems.join('; ')}\nemitted: ${emitted.map((e) => e.event).join(' ')}`);
    }
  });
}
