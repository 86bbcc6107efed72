/**
 * Runs as state: each run assembled from the stream's items, in seq order. `applyItem` is the
 * one place an item changes a run: a streamed text delta is appended to the run's text, a
 * tool call's argument delta to the call's `args`; a coalesced range (`fromSeq`…`seq`, after a
 * resume) carries the concatenated delta and is applied as one item (placed by StreamCursor).
 *
 * Bounded in bytes (I8): finished runs beyond `retainRuns`, or beyond `retainRunBytes` in
 * total, are forgotten oldest first; when open runs alone exceed the byte bound, the oldest
 * open run drops its event list (its status, text and tool calls stay) and says so.
 */
import type { AgentEventName, StreamEvent } from '../protocol/frames.js';

/** Where a run is: `interrupted` when its end may have been missed (a refused resume). */
export type ClientRunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** A tool call of a run, matched by `toolCallId`. */
export interface ClientToolCall {
  toolCallId: string;
  tool: string | undefined;
  status: 'running' | 'completed' | 'failed';
  input: unknown;
  /** The call's arguments as streamed so far (`tool_args_delta`), concatenated. */
  args: string;
  output: unknown;
}

/** One event as the run received it. */
export interface ClientRunEvent {
  seq: number;
  /** A coalesced delta (after a resume) covers `fromSeq`…`seq`; absent for a single event. */
  fromSeq?: number;
  event: AgentEventName;
  data: unknown;
  ts: number;
}

/** One approval a run waits for: the `approval_requested` event's data. */
export interface ClientApprovalRequest { toolCallId: string; tool?: unknown; args?: unknown; [key: string]: unknown }

/** A run as the client assembled it (plain JSON: it is stored as is). */
export interface ClientRun {
  runId: string;
  /** The message that started it (from its ack), when this client sent it. */
  messageId: string | undefined;
  /** The text of that message, when this client sent it. */
  prompt: string | undefined;
  /** `send()`'s `threadId` and `metadata` (sent with the message; also kept here). */
  threadId: string | undefined;
  metadata: unknown;
  status: ClientRunStatus;
  /** Events of this run may be missing: it was open across a refused resume, or began before one. */
  incomplete: boolean;
  /** The reply so far: the streamed `text_delta`s concatenated; `agent_completed` `data.text` when it has one. */
  text: string;
  /** The latest `agent_thinking` `data.text`. */
  thinking: string | undefined;
  toolCalls: ClientToolCall[];
  /** Approvals the server asks for and has not resolved yet: each `approval_requested` event's data (`toolCallId`, and e.g. `tool`, `args`). */
  pendingApprovals: ClientApprovalRequest[];
  /** The data of `agent_completed` or `agent_error`. */
  result: unknown;
  /** The epoch its events belong to. */
  epoch: string | undefined;
  /** The events received, in seq order (dropped when the byte bound needed it: `eventsDropped`). */
  events: ClientRunEvent[];
  eventsDropped: boolean;
  /** JSON length of the run, maintained as it grows (the byte bound's measure). */
  bytes: number;
}

/** One item of a user's stream, as it reaches a run: a wire event frame without its `type` (a coalesced delta covers `fromSeq`…`seq`). */
export type StreamItem = StreamEvent;

/** Bounds of the run book. */
export interface RunBookLimits {
  /** Finished runs kept (default 100). */
  retainRuns: number;
  /** Bytes (JSON length) of all runs kept (default 1 MiB). */
  retainRunBytes: number;
}

export const DEFAULT_RUN_BOOK_LIMITS: RunBookLimits = { retainRuns: 100, retainRunBytes: 1024 * 1024 };

const isOpen = (run: ClientRun) => run.status === 'running';
const record = (data: unknown): Record<string, unknown> => (typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {});

function newRun(runId: string, epoch: string | undefined): ClientRun {
  const run: ClientRun = {
    runId, messageId: undefined, prompt: undefined, threadId: undefined, metadata: undefined, status: 'running', incomplete: false, text: '', thinking: undefined,
    toolCalls: [], pendingApprovals: [], result: undefined, epoch, events: [], eventsDropped: false, bytes: 0,
  };
  run.bytes = JSON.stringify(run).length;
  return run;
}

/**
 * Applies one stream item to its run (pure: returns the new run). The one place the meaning of
 * an item is decided; new item kinds (text deltas, approvals) are new cases here.
 */
export function applyItem(run: ClientRun, item: StreamItem): ClientRun {
  const data = record(item.data);
  const next: ClientRun = { ...run, toolCalls: run.toolCalls, events: run.eventsDropped ? run.events : [...run.events, { seq: item.seq, ...(item.fromSeq !== undefined && item.fromSeq < item.seq ? { fromSeq: item.fromSeq } : {}), event: item.event, data: item.data, ts: item.ts }] };
  // A run seen again after it was marked interrupted is alive after all (events may be missing).
  if (next.status === 'interrupted') next.status = 'running';
  switch (item.event) {
    case 'agent_started':
      break;
    case 'agent_thinking':
      if (typeof data.text === 'string') next.thinking = data.text;
      break;
    case 'tool_executing':
      next.toolCalls = [
        ...run.toolCalls,
        { toolCallId: String(data.toolCallId ?? ''), tool: typeof data.tool === 'string' ? data.tool : undefined, status: 'running', input: data.input, args: '', output: undefined },
      ];
      break;
    case 'text_delta':
      if (typeof data.delta === 'string') next.text = run.text + data.delta;
      break;
    case 'tool_args_delta':
      if (typeof data.delta === 'string') {
        const delta = data.delta;
        next.toolCalls = run.toolCalls.map((call) => (call.toolCallId === data.toolCallId && call.status === 'running' ? { ...call, args: call.args + delta } : call));
      }
      break;
    case 'approval_requested':
      next.pendingApprovals = [...run.pendingApprovals.filter((a) => a.toolCallId !== data.toolCallId), { ...data, toolCallId: String(data.toolCallId ?? '') }];
      break;
    case 'approval_resolved':
      next.pendingApprovals = run.pendingApprovals.filter((a) => a.toolCallId !== data.toolCallId);
      break;
    case 'tool_completed':
      next.toolCalls = run.toolCalls.map((call) => (call.toolCallId === data.toolCallId && call.status === 'running' ? { ...call, status: 'completed', output: data.output } : call));
      break;
    case 'agent_completed':
      next.status = 'completed';
      next.pendingApprovals = [];
      next.result = item.data;
      if (typeof data.text === 'string') next.text = data.text;
      break;
    case 'agent_error':
      next.status = 'failed';
      next.result = item.data;
      next.pendingApprovals = [];
      next.toolCalls = run.toolCalls.map((call) => (call.status === 'running' ? { ...call, status: 'failed' } : call));
      break;
  }
  next.bytes = run.bytes + JSON.stringify(item).length + (next.text.length - run.text.length) + (next.thinking?.length ?? 0) - (run.thinking?.length ?? 0);
  return next;
}

/** The runs a client knows, oldest first, with their bounds. Plain data in, plain data out (stored as is). */
export class RunBook {
  readonly limits: RunBookLimits;
  #runs: ClientRun[];

  constructor(runs: ClientRun[], limits: Partial<RunBookLimits> = {}) {
    this.limits = { ...DEFAULT_RUN_BOOK_LIMITS, ...limits };
    this.#runs = runs;
  }

  get runs(): readonly ClientRun[] {
    return this.#runs;
  }

  get(runId: string): ClientRun | undefined {
    return this.#runs.find((run) => run.runId === runId);
  }

  /** Applies a stream item; creates the run if it is new (`incomplete` when it began out of sight). */
  apply(item: StreamItem, epoch: string | undefined): ClientRun {
    let run = this.get(item.runId);
    if (run === undefined) {
      run = newRun(item.runId, epoch);
      // Its start was not seen: it began before this client joined, or in a gap.
      if (item.event !== 'agent_started') run.incomplete = true;
    }
    return this.#put(applyItem(run, item));
  }

  /** Links a run to the message that started it (the ack). `interrupted`: its events were in a gap. */
  link(runId: string, message: { id: string; text: string; threadId: string | undefined; metadata: unknown }, epoch: string | undefined, interrupted: boolean): ClientRun {
    let run = this.get(runId) ?? newRun(runId, epoch);
    run = { ...run, messageId: message.id, prompt: message.text, threadId: message.threadId, metadata: message.metadata };
    if (interrupted && run.events.length === 0 && run.status === 'running') run = { ...run, status: 'interrupted', incomplete: true };
    run.bytes += JSON.stringify(message).length;
    return this.#put(run);
  }

  /** Marks every open run interrupted (its end may be in what was missed); returns their ids. */
  interruptOpen(): string[] {
    const ids: string[] = [];
    this.#runs = this.#runs.map((run) => {
      if (!isOpen(run)) return run;
      ids.push(run.runId);
      return { ...run, status: 'interrupted', incomplete: true };
    });
    return ids;
  }

  /** Forgets every run (stored state of another user). */
  clear(): void {
    this.#runs = [];
  }

  /** Marks every open run incomplete (events of it may be missing, it may still go on). */
  markOpenIncomplete(): void {
    this.#runs = this.#runs.map((run) => (isOpen(run) ? { ...run, incomplete: true } : run));
  }

  #put(run: ClientRun): ClientRun {
    const index = this.#runs.findIndex((r) => r.runId === run.runId);
    if (index === -1) this.#runs = [...this.#runs, run];
    else this.#runs = this.#runs.map((r, i) => (i === index ? run : r));
    this.#trim();
    return this.get(run.runId) ?? run;
  }

  #trim(): void {
    const { retainRuns, retainRunBytes } = this.limits;
    let finished = this.#runs.filter((run) => !isOpen(run)).length;
    let bytes = this.#runs.reduce((sum, run) => sum + run.bytes, 0);
    let runs = this.#runs;
    // Oldest finished runs go first.
    while ((finished > retainRuns || bytes > retainRunBytes) && finished > 0) {
      const oldest = runs.findIndex((run) => !isOpen(run));
      bytes -= runs[oldest]!.bytes;
      runs = runs.filter((_, i) => i !== oldest);
      finished -= 1;
    }
    // Open runs alone over the bound: the oldest ones drop their event lists.
    for (let i = 0; bytes > retainRunBytes && i < runs.length; i++) {
      const run = runs[i]!;
      if (run.eventsDropped || run.events.length === 0) continue;
      const events = JSON.stringify(run.events).length;
      runs = runs.map((r, j) => (j === i ? { ...r, events: [], eventsDropped: true, bytes: r.bytes - events } : r));
      bytes -= events;
    }
    this.#runs = runs;
  }
}
