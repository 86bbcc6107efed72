/**
 * The application handler contract, and how its outcome ends the run: a handler that
 * returns without ending the run completes it with what it returned; a handler that throws
 * (or leaves tool calls open) ends it with `agent_error` — the connection keeps serving (I9).
 */
import type { RunHandle } from './run-handle.js';

/**
 * A client's `message` frame as the handler receives it: `threadId` and `metadata` exactly as
 * the client sent them (present only when it did).
 */
export interface IncomingMessage { id: string; text: string; threadId?: string; metadata?: Record<string, unknown> }
/**
 * Who sent the message, and on which connection. `signal` aborts when the user cancels the run
 * (a `cancel` frame from any of its tabs): the run has then already ended with `agent_error`
 * `{ reason: "cancelled" }` and the run handle refuses every later event — stop working.
 */
export interface HandlerContext { userId: string; connectionId: string; readonly signal: AbortSignal }

/**
 * The application: called once per accepted message, only after its connection is `ready`.
 * Report progress through `run`; a returned value completes the run (a string becomes
 * `{ text }`), a throw ends it with `agent_error`, and the connection keeps serving.
 */
export type MessageHandler = (
  message: IncomingMessage,
  run: RunHandle,
  context: HandlerContext,
) => unknown;

export interface HandlerFaultReporter {
  (error: unknown, run: RunHandle): void;
}

function completionData(result: unknown): unknown {
  if (result === undefined) return {};
  if (typeof result === 'string') return { text: result };
  return result;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';

/**
 * Ends the run now with `end`: undefined (settled, nothing to wait for); should the fault
 * reporter itself throw, a rejected promise (as an async function's would be).
 */
function settleNow(end: typeof endRun | typeof failRun, run: RunHandle, outcome: unknown, reportFault: HandlerFaultReporter): Promise<void> | undefined {
  try {
    end(run, outcome, reportFault);
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The handler failed (threw, rejected, or its outcome could not end the run): reported, and the run ends with agent_error. */
function failRun(run: RunHandle, error: unknown, reportFault: HandlerFaultReporter): void {
  reportFault(error, run);
  if (!run.ended) {
    run.fail({ reason: 'handler_error', message: error instanceof Error ? error.message : String(error) });
  }
}

/** The handler returned `result`: the run completes with it, unless the handler ended it or left tool calls open. */
function endRun(run: RunHandle, result: unknown, reportFault: HandlerFaultReporter): void {
  try {
    if (run.ended) return;
    if (run.openToolCalls.length > 0) {
      run.fail({ reason: 'tool_calls_open', openToolCalls: [...run.openToolCalls] });
      return;
    }
    run.complete(completionData(result));
  } catch (error) {
    failRun(run, error, reportFault);
  }
}

/**
 * Runs `handler` for one message; never throws. A handler that answers synchronously has
 * its run ended before this returns undefined: no promise, no microtask, and the server never
 * sets the run's deadline timer. A handler that returns a promise gets one back that settles
 * once its run ended. Either way, only a `reportFault` that throws makes it a rejected promise.
 */
export function runHandler(
  handler: MessageHandler,
  message: IncomingMessage,
  run: RunHandle,
  context: HandlerContext,
  reportFault: HandlerFaultReporter,
): Promise<void> | undefined {
  let result: unknown;
  try {
    result = handler(message, run, context);
  } catch (error) {
    return settleNow(failRun, run, error, reportFault);
  }
  if (!isThenable(result)) return settleNow(endRun, run, result, reportFault);
  return Promise.resolve(result).then((value) => endRun(run, value, reportFault), (error: unknown) => failRun(run, error, reportFault));
}
