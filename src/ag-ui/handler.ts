/**
 * `agUiHandler({ url })`: an existing AG-UI agent (any language, any framework that speaks
 * AG-UI over HTTP + SSE) as lockstep's message handler. For each accepted message it POSTs
 * AG-UI's RunAgentInput to the agent, reads the SSE stream with a byte-bounded parser, checks
 * AG-UI's own rules (./agui-grammar.ts) and maps each event onto the run handle, whose run
 * machine checks lockstep's grammar (I6): nothing out of order reaches a client. How a run
 * ends (docs/ag-ui.md "How a run ends"):
 * - RUN_FINISHED and then the end of the stream → `agent_completed`. The completion waits for
 *   the end of the response, so that an event after RUN_FINISHED can still fail the run;
 * - RUN_ERROR → `agent_error` `{ reason: "agent_error", message, code? }` at once;
 * - a refused event or stream → `agent_error` `{ reason: "ag_ui_protocol", detail }`;
 * - an event over `maxEventBytes` → `agent_error` `{ reason: "ag_ui_event_too_large", detail }`;
 * - the agent unreachable, or the stream broken → `agent_error` `{ reason: "agent_unreachable", message }`;
 * - an HTTP status other than 2xx → `agent_error` `{ reason: "agent_http_status", status, message }`;
 * - a cancel (the user's stop button, a deadline): `context.signal` aborts the request.
 */
import type { MessageHandler, HandlerContext, IncomingMessage } from '../agent/handler.js';
import type { RunHandle } from '../agent/run-handle.js';
import { LockstepError } from '../protocol/errors.js';
import { AgUiRunChecker, DEFAULT_MAX_TRACKED_IDS } from './agui-grammar.js';
import { agUiToRunCalls, applyRunCall, type RunCall } from './inbound-mapping.js';
import { runAgentInput } from './run-input.js';
import { DEFAULT_MAX_EVENT_BYTES, SseEventTooLarge, SseParser } from './sse-parser.js';

/** Options of {@link agUiHandler}. */
export interface AgUiHandlerOptions {
  /** The agent's AG-UI endpoint (http:// or https://), which answers a POSTed RunAgentInput with an SSE stream. */
  url: string;
  /** Extra request headers (e.g. the agent's API key), or a function of the message and its context (per-user headers). */
  headers?: Record<string, string> | ((message: IncomingMessage, context: HandlerContext) => Record<string, string> | Promise<Record<string, string>>);
  /** The fetch to use. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Bytes of one SSE event (its lines, without line ends). Default 1 MiB; over it the run fails `ag_ui_event_too_large`. */
  maxEventBytes?: number;
  /** Message and tool call ids one run may use. Default 1000; over it the run fails `ag_ui_protocol`. */
  maxTrackedIds?: number;
}

function invalid(message: string): never {
  throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', `agUiHandler(): ${message}`);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) invalid(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** A lockstep message handler that runs each message on the AG-UI agent at `options.url`. */
export function agUiHandler(options: AgUiHandlerOptions): MessageHandler {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    invalid(`url must be an absolute http:// or https:// URL, got ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(`url must be an http:// or https:// URL, got ${JSON.stringify(options.url)}`);
  const maxEventBytes = positive('maxEventBytes', options.maxEventBytes, DEFAULT_MAX_EVENT_BYTES);
  const maxTrackedIds = positive('maxTrackedIds', options.maxTrackedIds, DEFAULT_MAX_TRACKED_IDS);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') invalid('no global fetch here: pass fetch');
  const endpoint = url.href;

  return async (message, run, context) => {
    const headers = typeof options.headers === 'function' ? await options.headers(message, context) : options.headers ?? {};
    let response: Response;
    try {
      response = await fetchImpl(endpoint, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(runAgentInput(message, run)),
        signal: context.signal,
      });
    } catch (error) {
      endWith(run, { reason: 'agent_unreachable', message: `POST ${endpoint} failed: ${describe(error)}` });
      return;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      endWith(run, { reason: 'agent_http_status', status: response.status, message: `POST ${endpoint} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}` });
      return;
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!/^text\/event-stream\b/i.test(contentType)) {
      await response.body?.cancel().catch(() => {});
      endWith(run, { reason: 'ag_ui_protocol', detail: `the agent answered content-type ${JSON.stringify(contentType)}, not text/event-stream` });
      return;
    }
    await readStream(response, run, new SseParser(maxEventBytes), new AgUiRunChecker(maxTrackedIds));
  };
}

/** Reads the SSE stream to its end (or the run's); every outcome ends the run. */
async function readStream(response: Response, run: RunHandle, parser: SseParser, checker: AgUiRunChecker): Promise<void> {
  const reader = response.body?.getReader();
  /** RUN_FINISHED's calls, held until the stream ends (an event after it fails the run instead). */
  let finish: RunCall[] | undefined;
  const stop = () => void reader?.cancel().catch(() => {});
  try {
    for (;;) {
      const next = reader === undefined ? { done: true as const, value: undefined } : await reader.read();
      if (run.ended) return stop();
      if (next.done) break;
      for (const data of parser.push(next.value)) {
        let value: unknown;
        try {
          value = JSON.parse(data);
        } catch {
          endWith(run, { reason: 'ag_ui_protocol', detail: checker.notJson(data).detail });
          return stop();
        }
        const verdict = checker.accept(value);
        if (!verdict.ok) {
          endWith(run, { reason: 'ag_ui_protocol', detail: verdict.detail });
          return stop();
        }
        const calls = agUiToRunCalls(verdict.event, verdict.facts);
        if (verdict.event.type === 'RUN_FINISHED') finish = calls;
        else for (const call of calls) applyRunCall(run, call);
        if (run.ended) return stop();
      }
    }
  } catch (error) {
    if (run.ended) return stop();
    if (error instanceof SseEventTooLarge) endWith(run, { reason: 'ag_ui_event_too_large', detail: error.message });
    else if (error instanceof LockstepError) endWith(run, { reason: 'ag_ui_protocol', detail: error.message });
    else endWith(run, { reason: 'agent_unreachable', message: `the agent's stream broke: ${describe(error)}` });
    return stop();
  }
  const end = checker.end();
  if (!end.ok) return endWith(run, { reason: 'ag_ui_protocol', detail: end.detail });
  for (const call of finish ?? []) applyRunCall(run, call);
}

/** Fails the run unless it already ended (a cancel or a deadline got there first). */
function endWith(run: RunHandle, data: Record<string, unknown>): void {
  if (!run.ended) run.fail(data);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
