/**
 * AG-UI's own ordering rules, checked over one run's event sequence before anything reaches
 * lockstep's run handle (whose run machine then checks lockstep's grammar, I6). Deterministic
 * and free of I/O: `accept` one event at a time, then `end` when the stream ends. The first
 * refusal is final: its `detail` names the event (1-based position and type) and the rule.
 *
 * Refused (docs/ag-ui.md "What is refused"):
 * - not JSON, not an object, an unknown `type`, a required field missing or not a string, an id
 *   longer than {@link MAX_ID_LENGTH};
 * - a first event other than RUN_STARTED (or RUN_ERROR), a second RUN_STARTED;
 * - TEXT_MESSAGE_START for a message already open; TEXT_MESSAGE_CONTENT/END for a message that
 *   is not open (unknown or closed);
 * - TOOL_CALL_START for a call still open (arguments streaming, or awaiting its result);
 *   TOOL_CALL_ARGS/END for a call whose arguments are not streaming (unknown or ended);
 *   TOOL_CALL_RESULT before its TOOL_CALL_END, or a second result;
 * - RUN_FINISHED while a text message or a tool call's arguments are open;
 * - anything after RUN_FINISHED or RUN_ERROR;
 * - the stream ending without RUN_FINISHED or RUN_ERROR;
 * - more than `maxTrackedIds` message and tool call ids in one run (the checker's memory bound).
 */
import { ID_FIELDS, MAX_ID_LENGTH, REQUIRED_STRINGS, isAgUiEventType, type AgUiEvent } from './event-types.js';

/** Default bound of message and tool call ids one run may use (each at most 256 characters). */
export const DEFAULT_MAX_TRACKED_IDS = 1000;

/** Where a tool call is, as AG-UI sees it: arguments streaming, arguments ended (awaiting a result), answered. */
export type ToolCallPhase = 'args' | 'ended' | 'resulted';

/** What the mapping needs to know about the run at an accepted event (docs/ag-ui.md "Inbound"). */
export interface AcceptedFacts {
  /** TEXT_MESSAGE_CONTENT: its message is the only text message open. */
  soleOpenMessage: boolean;
  /** TOOL_CALL_RESULT: its call was started in this run (and its arguments ended). */
  knownToolCall: boolean;
  /** RUN_FINISHED: calls whose arguments ended without a result in this run, in start order. */
  awaitingResult: string[];
}

/** What the checker says of one event: accepted (with the facts the mapping needs), or refused with a precise detail. */
export type Verdict = { ok: true; event: AgUiEvent; facts: AcceptedFacts } | { ok: false; detail: string };

const NO_FACTS: AcceptedFacts = { soleOpenMessage: false, knownToolCall: false, awaitingResult: [] };

/** AG-UI's rules over one run: `accept` each event (or `notJson`), then `end`; the first refusal is final. */
export class AgUiRunChecker {
  readonly maxTrackedIds: number;
  #count = 0;
  #started = false;
  #ended: 'RUN_FINISHED' | 'RUN_ERROR' | undefined;
  #refused: string | undefined;
  /** Text messages by id: open or closed. */
  readonly #messages = new Map<string, 'open' | 'closed'>();
  readonly #openMessages: string[] = [];
  /** Tool calls started in this run, in start order. */
  readonly #toolCalls = new Map<string, ToolCallPhase>();

  constructor(maxTrackedIds: number = DEFAULT_MAX_TRACKED_IDS) {
    this.maxTrackedIds = maxTrackedIds;
  }

  /** Whether the run ended (RUN_FINISHED or RUN_ERROR accepted) or was refused. */
  get done(): boolean {
    return this.#ended !== undefined || this.#refused !== undefined;
  }

  /** Checks the next event (a parsed JSON value, or the SSE data when it is not JSON: pass `raw`). */
  accept(value: unknown): Verdict {
    if (this.#refused !== undefined) return { ok: false, detail: this.#refused };
    this.#count += 1;
    const detail = this.#check(value);
    if (typeof detail === 'string') {
      this.#refused = detail;
      return { ok: false, detail };
    }
    return { ok: true, event: value as AgUiEvent, facts: detail };
  }

  /** Checks an SSE event whose data is not JSON. */
  notJson(data: string): { ok: false; detail: string } {
    if (this.#refused !== undefined) return { ok: false, detail: this.#refused };
    this.#count += 1;
    const shown = data.length > 80 ? `${data.slice(0, 80)}…` : data;
    this.#refused = `event ${this.#count}: its data is not JSON: ${JSON.stringify(shown)}`;
    return { ok: false, detail: this.#refused };
  }

  /** The stream ended: refused unless the run ended. */
  end(): { ok: true } | { ok: false; detail: string } {
    if (this.#refused !== undefined) return { ok: false, detail: this.#refused };
    if (this.#ended !== undefined) return { ok: true };
    const open = [
      ...this.#openMessages.map((id) => `text message ${id}`),
      ...[...this.#toolCalls].filter(([, phase]) => phase === 'args').map(([id]) => `tool call ${id}`),
    ];
    this.#refused = `the stream ended after ${this.#count} events without RUN_FINISHED or RUN_ERROR` + (open.length > 0 ? `; still open: ${open.join(', ')}` : '');
    return { ok: false, detail: this.#refused };
  }

  #check(value: unknown): AcceptedFacts | string {
    const at = `event ${this.#count}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at}: not a JSON object`;
    const event = value as Record<string, unknown>;
    const type = event.type;
    if (!isAgUiEventType(type)) return `${at}: unknown type ${JSON.stringify(type)}`;
    const named = `${at} (${type})`;
    if (this.#ended !== undefined) return `${named} after ${this.#ended}: nothing may follow the end of the run`;
    for (const field of REQUIRED_STRINGS[type] ?? []) {
      const v = event[field];
      if (typeof v !== 'string') return `${named}: ${field} must be a string, got ${v === null ? 'null' : typeof v}`;
      if (ID_FIELDS.has(field) && (v.length === 0 || v.length > MAX_ID_LENGTH)) return `${named}: ${field} must be 1–${MAX_ID_LENGTH} characters, got ${v.length}`;
    }
    if (type === 'TOOL_CALL_RESULT' && typeof event.content !== 'string' && !Array.isArray(event.content)) return `${named}: content must be a string or an array of parts`;
    if (!this.#started) {
      if (type !== 'RUN_STARTED' && type !== 'RUN_ERROR') return `${named}: the first event must be RUN_STARTED`;
    } else if (type === 'RUN_STARTED') return `${named}: a second RUN_STARTED in one run`;
    this.#started = true;
    const id = (field: string) => event[field] as string;
    switch (type) {
      case 'TEXT_MESSAGE_START': {
        const m = id('messageId');
        if (this.#messages.get(m) === 'open') return `${named}: text message ${m} is already open`;
        if (!this.#messages.has(m) && !this.#track()) return this.#overTracked(named);
        this.#messages.set(m, 'open');
        this.#openMessages.push(m);
        return NO_FACTS;
      }
      case 'TEXT_MESSAGE_CONTENT':
      case 'TEXT_MESSAGE_END': {
        const m = id('messageId');
        const state = this.#messages.get(m);
        if (state !== 'open') return `${named}: text message ${m} is ${state === 'closed' ? 'closed (after its TEXT_MESSAGE_END)' : 'unknown (no TEXT_MESSAGE_START)'}`;
        if (type === 'TEXT_MESSAGE_CONTENT') return { ...NO_FACTS, soleOpenMessage: this.#openMessages.length === 1 };
        this.#messages.set(m, 'closed');
        this.#openMessages.splice(this.#openMessages.indexOf(m), 1);
        return NO_FACTS;
      }
      case 'TOOL_CALL_START': {
        const t = id('toolCallId');
        const phase = this.#toolCalls.get(t);
        if (phase === 'args') return `${named}: tool call ${t} is already open (its arguments are streaming)`;
        if (phase === 'ended') return `${named}: tool call ${t} is already open (awaiting its TOOL_CALL_RESULT)`;
        if (phase === undefined && !this.#track()) return this.#overTracked(named);
        // A restarted id moves to the end: awaiting-result order is start order.
        this.#toolCalls.delete(t);
        this.#toolCalls.set(t, 'args');
        return NO_FACTS;
      }
      case 'TOOL_CALL_ARGS':
      case 'TOOL_CALL_END': {
        const t = id('toolCallId');
        const phase = this.#toolCalls.get(t);
        if (phase !== 'args') return `${named}: tool call ${t} is ${phase === undefined ? 'unknown (no TOOL_CALL_START)' : 'not streaming arguments (after its TOOL_CALL_END)'}`;
        if (type === 'TOOL_CALL_END') this.#toolCalls.set(t, 'ended');
        return NO_FACTS;
      }
      case 'TOOL_CALL_RESULT': {
        const t = id('toolCallId');
        const phase = this.#toolCalls.get(t);
        if (phase === 'args') return `${named}: tool call ${t} has no TOOL_CALL_END yet (its arguments are still streaming)`;
        if (phase === 'resulted') return `${named}: tool call ${t} already has its TOOL_CALL_RESULT`;
        if (phase === 'ended') this.#toolCalls.set(t, 'resulted');
        // A result for a call of an earlier run (a front-end tool) is carried as data.
        return { ...NO_FACTS, knownToolCall: phase === 'ended' };
      }
      case 'RUN_FINISHED': {
        if (this.#openMessages.length > 0) return `${named}: text message ${this.#openMessages.join(', ')} still open (no TEXT_MESSAGE_END)`;
        const streaming = [...this.#toolCalls].filter(([, phase]) => phase === 'args').map(([t]) => t);
        if (streaming.length > 0) return `${named}: tool call ${streaming.join(', ')} still open (no TOOL_CALL_END)`;
        this.#ended = 'RUN_FINISHED';
        return { ...NO_FACTS, awaitingResult: [...this.#toolCalls].filter(([, phase]) => phase === 'ended').map(([t]) => t) };
      }
      case 'RUN_ERROR':
        this.#ended = 'RUN_ERROR';
        return NO_FACTS;
      default:
        return NO_FACTS;
    }
  }

  #track(): boolean {
    return this.#messages.size + this.#toolCalls.size < this.maxTrackedIds;
  }

  #overTracked(named: string): string {
    return `${named}: more than ${this.maxTrackedIds} message and tool call ids in one run (maxTrackedIds)`;
  }
}
