/**
 * Issue 17 item 3's property: random AG-UI event sequences — valid ones, valid ones with a
 * mutation (an event dropped, repeated, swapped, a junk event inserted, the stream cut), and
 * junk — written as SSE (LF or CRLF, one or several data lines, comments) and cut at random
 * byte boundaries (inside multi-byte characters, between CR and LF), read by the real
 * agUiHandler (its SSE parser, its AG-UI checker, its mapping) onto a real run handle (the run
 * machine). The verdict is exactly the reference model's below (written for this test from
 * the rules in docs/ag-ui.md); an accepted run emits exactly the lockstep events the model
 * expects, and the outbound mapping gives the agent's sequence back (lossless).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agUiHandler } from '../../src/ag-ui/handler.js';
import { LockstepToAgUi } from '../../src/ag-ui/outbound-mapping.js';
import { startRun } from '../../src/agent/run-handle.js';
import type { AgentEventName } from '../../src/protocol/frames.js';

type Item = Record<string, unknown> | { raw: string };
const isRaw = (item: Item): item is { raw: string } => 'raw' in item && Object.keys(item).length === 1;
const THREAD = 'thread-1';
const RUN = 'c1.1';

// ---------------------------------------------------------------- the sequences

const DELTAS = ['a', 'ä', '€', '😀', ' ', '', '{"k":', '1}', 'line\nbreak'];

/** A valid run built from choices: each choice picks one of the moves the state allows. */
function validRun(picks: Array<[number, number]>, terminal: number): Item[] {
  const events: Item[] = [{ type: 'RUN_STARTED', threadId: THREAD, runId: RUN }];
  const open: string[] = [];
  const calls = new Map<string, 'args' | 'ended' | 'resulted'>();
  let n = 0;
  for (const [pick, deltaPick] of picks) {
    const delta = DELTAS[deltaPick % DELTAS.length]!;
    const moves: Array<() => Item> = [
      () => { const m = `m${++n}`; open.push(m); return { type: 'TEXT_MESSAGE_START', messageId: m, role: 'assistant' }; },
      () => { const t = `t${++n}`; calls.set(t, 'args'); return { type: 'TOOL_CALL_START', toolCallId: t, toolCallName: 'tool' }; },
      () => ({ type: 'STATE_DELTA', delta: [{ op: 'add', path: '/n', value: pick }] }),
      () => ({ type: 'TOOL_CALL_RESULT', messageId: `r${++n}`, toolCallId: 'from-an-earlier-run', content: 'ok' }),
    ];
    for (const m of open) {
      moves.push(() => ({ type: 'TEXT_MESSAGE_CONTENT', messageId: m, delta }));
      moves.push(() => { open.splice(open.indexOf(m), 1); return { type: 'TEXT_MESSAGE_END', messageId: m }; });
    }
    for (const [t, phase] of calls) {
      if (phase === 'args') {
        moves.push(() => ({ type: 'TOOL_CALL_ARGS', toolCallId: t, delta }));
        moves.push(() => { calls.set(t, 'ended'); return { type: 'TOOL_CALL_END', toolCallId: t }; });
      } else if (phase === 'ended') moves.push(() => { calls.set(t, 'resulted'); return { type: 'TOOL_CALL_RESULT', messageId: `r${++n}`, toolCallId: t, content: [{ type: 'text', text: delta }] }; });
    }
    events.push(moves[pick % moves.length]!());
  }
  if (terminal % 3 === 2) return [...events, { type: 'RUN_ERROR', message: 'boom', code: 'x' }];
  for (const m of open) events.push({ type: 'TEXT_MESSAGE_END', messageId: m });
  for (const [t, phase] of calls) if (phase === 'args') events.push({ type: 'TOOL_CALL_END', toolCallId: t });
  return [...events, { type: 'RUN_FINISHED', threadId: THREAD, runId: RUN, ...(terminal % 3 === 1 ? { result: { n } } : {}) }];
}

const JUNK: Item[] = [
  { raw: 'not json' },
  { type: 'NO_SUCH_EVENT' },
  { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1' },
  { type: 'TOOL_CALL_END', toolCallId: 'ghost' },
  { type: 'RUN_STARTED', threadId: THREAD, runId: RUN },
  [1, 2] as unknown as Item,
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), junk: fc.constantFrom(...JUNK) }),
  // Targeted: a tool call answered twice (plain repeats rarely land on a result).
  fc.record({ kind: fc.constant('repeatResult' as const), at: fc.nat() }),
);

function mutate(events: Item[], m: { kind: string; at: number; junk?: Item }): Item[] {
  const at = m.at % (events.length + 1);
  const copy = [...events];
  switch (m.kind) {
    case 'drop': copy.splice(at, 1); break;
    case 'repeat': if (at < copy.length) copy.splice(at, 0, copy[at]!); break;
    case 'swap': if (at + 1 < copy.length) [copy[at], copy[at + 1]] = [copy[at + 1]!, copy[at]!]; break;
    case 'cut': copy.length = at; break;
    case 'insert': copy.splice(at, 0, m.junk!); break;
    case 'repeatResult': {
      const result = copy.findIndex((e) => (e as { type?: string }).type === 'TOOL_CALL_RESULT' && Array.isArray((e as { content?: unknown }).content));
      if (result !== -1) copy.splice(result + 1, 0, copy[result]!);
      break;
    }
  }
  return copy;
}

const valid = fc.tuple(fc.array(fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: DELTAS.length - 1 })), { maxLength: 30 }), fc.nat()).map(([picks, terminal]) => validRun(picks, terminal));
const sequences = fc.oneof(
  valid,
  fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 2 })).map(([events, ms]) => ms.reduce(mutate, events)),
  fc.array(fc.constantFrom<Item>(...JUNK, { type: 'RUN_STARTED', threadId: THREAD, runId: RUN }, { type: 'RUN_FINISHED', threadId: THREAD, runId: RUN }), { maxLength: 4 }),
);

// ---------------------------------------------------------------- SSE bytes, cut

const format = fc.constantFrom('lf', 'crlf', 'cr', 'lines', 'crlf-lines', 'comment');
function sse(item: Item, how: string): string {
  const json = isRaw(item) ? item.raw : JSON.stringify(item);
  switch (how) {
    case 'crlf': return `data: ${json}\r\n\r\n`;
    case 'cr': return `data:${json}\r\r`;
    // Several data lines join with LF: pretty JSON parses to the same value.
    case 'lines': return isRaw(item) ? `data: ${json}\n\n` : `${JSON.stringify(item, null, 1).split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`;
    case 'crlf-lines': return isRaw(item) ? `data: ${json}\r\n\r\n` : `${JSON.stringify(item, null, 1).split('\n').map((l) => `data: ${l}`).join('\r\n')}\r\n\r\n`;
    case 'comment': return `: keep-alive\nevent: agui\nid: 7\ndata: ${json}\n\n`;
    default: return `data: ${json}\n\n`;
  }
}

function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

// ---------------------------------------------------------------- the reference model

interface Expected { refusedAt: number | 'end' | undefined; events: Array<{ event: AgentEventName; data: unknown }>; read?: number }

const ID_TYPES: Record<string, string[]> = {
  TEXT_MESSAGE_START: ['messageId'], TEXT_MESSAGE_CONTENT: ['messageId', 'delta'], TEXT_MESSAGE_END: ['messageId'],
  TOOL_CALL_START: ['toolCallId', 'toolCallName'], TOOL_CALL_ARGS: ['toolCallId', 'delta'], TOOL_CALL_END: ['toolCallId'],
  TOOL_CALL_RESULT: ['messageId', 'toolCallId'], RUN_ERROR: ['message'],
};
const KNOWN = new Set([...Object.keys(ID_TYPES), 'RUN_STARTED', 'RUN_FINISHED', 'STATE_DELTA']);

/** What lockstep must make of `items`: where it refuses (1-based event, or the end), and the lockstep events. */
function model(items: Item[]): Expected {
  const out: Expected['events'] = [];
  const messages = new Map<string, 'open' | 'closed'>();
  const calls = new Map<string, 'args' | 'ended' | 'resulted'>();
  const openMessages = () => [...messages].filter(([, s]) => s === 'open').length;
  let started = false;
  let finished: Record<string, unknown> | undefined;
  for (const [i, item] of items.entries()) {
    const at = i + 1;
    if (isRaw(item) || Array.isArray(item)) return { refusedAt: at, events: out };
    const e = item as Record<string, unknown>;
    const type = String(e.type);
    if (!KNOWN.has(type) || finished) return { refusedAt: at, events: out };
    if ((ID_TYPES[type] ?? []).some((f) => typeof e[f] !== 'string')) return { refusedAt: at, events: out };
    // AG-UI lets a run fail before it started (RUN_ERROR first); nothing else comes before RUN_STARTED.
    if (!started && type !== 'RUN_STARTED' && type !== 'RUN_ERROR') return { refusedAt: at, events: out };
    if (started && type === 'RUN_STARTED') return { refusedAt: at, events: out };
    started = true;
    const m = e.messageId as string;
    const t = e.toolCallId as string;
    switch (type) {
      case 'RUN_STARTED': break;
      case 'TEXT_MESSAGE_START':
        if (messages.get(m) === 'open') return { refusedAt: at, events: out };
        messages.set(m, 'open');
        out.push({ event: 'agent_thinking', data: { agUi: e } });
        break;
      case 'TEXT_MESSAGE_CONTENT':
        if (messages.get(m) !== 'open') return { refusedAt: at, events: out };
        out.push(openMessages() === 1 ? { event: 'text_delta', data: { delta: e.delta } } : { event: 'agent_thinking', data: { agUi: e } });
        break;
      case 'TEXT_MESSAGE_END':
        if (messages.get(m) !== 'open') return { refusedAt: at, events: out };
        messages.set(m, 'closed');
        out.push({ event: 'agent_thinking', data: { agUi: e } });
        break;
      case 'TOOL_CALL_START':
        if (calls.get(t) === 'args' || calls.get(t) === 'ended') return { refusedAt: at, events: out };
        calls.delete(t);
        calls.set(t, 'args');
        out.push({ event: 'tool_executing', data: { toolCallId: t, tool: e.toolCallName, agUi: e } });
        break;
      case 'TOOL_CALL_ARGS':
        if (calls.get(t) !== 'args') return { refusedAt: at, events: out };
        out.push({ event: 'tool_args_delta', data: { toolCallId: t, delta: e.delta } });
        break;
      case 'TOOL_CALL_END':
        if (calls.get(t) !== 'args') return { refusedAt: at, events: out };
        calls.set(t, 'ended');
        out.push({ event: 'agent_thinking', data: { agUi: e } });
        break;
      case 'TOOL_CALL_RESULT':
        if (calls.get(t) === 'args' || calls.get(t) === 'resulted') return { refusedAt: at, events: out };
        if (calls.get(t) === 'ended') {
          calls.set(t, 'resulted');
          out.push({ event: 'tool_completed', data: { toolCallId: t, result: e.content, agUi: e } });
        } else out.push({ event: 'agent_thinking', data: { agUi: e } });
        break;
      case 'RUN_FINISHED':
        if (openMessages() > 0 || [...calls.values()].includes('args')) return { refusedAt: at, events: out };
        finished = e;
        break;
      case 'RUN_ERROR':
        out.push({ event: 'agent_error', data: { reason: 'agent_error', message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}), agUi: e } });
        // The run ended: lockstep reads no further (what follows never reaches a client).
        return { refusedAt: undefined, events: out, read: at };
      default:
        out.push({ event: 'agent_thinking', data: { agUi: e } });
    }
  }
  if (!finished) return { refusedAt: 'end', events: out };
  for (const [t, phase] of calls) if (phase === 'ended') out.push({ event: 'tool_completed', data: { toolCallId: t, awaitingResult: true } });
  out.push({ event: 'agent_completed', data: { ...(finished.result === undefined ? {} : { result: finished.result }), agUi: finished } });
  return { refusedAt: undefined, events: out };
}

// ---------------------------------------------------------------- the run

/** Streams `chunks` as the agent's response through the real handler onto a real run handle. */
async function runThrough(chunks: Uint8Array[]): Promise<Array<{ event: AgentEventName; data: unknown }>> {
  const emitted: Array<{ event: AgentEventName; data: unknown }> = [];
  const run = startRun(RUN, 'alice', (event, data) => emitted.push({ event, data }), undefined, { threadId: THREAD });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const handler = agUiHandler({ url: 'http://agent.invalid/run', fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }) });
  await handler({ id: 'm', text: 'hi', threadId: THREAD }, run, { userId: 'alice', connectionId: 'c1', signal: new AbortController().signal });
  expect(run.ended, 'the handler ends every run').toBe(true);
  return emitted;
}

describe('AG-UI streams through agUiHandler', () => {
  it('any sequence, any SSE framing, any chunking: the verdict and the lockstep events are the model\'s; accepted runs map back losslessly', async () => {
    await fc.assert(
      fc.asyncProperty(sequences, fc.array(format, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), async (items, formats, cuts) => {
        const text = items.map((item, i) => sse(item, formats[i % formats.length]!)).join('');
        const emitted = await runThrough(cut(new TextEncoder().encode(text), cuts));
        const expected = model(items);
        expect(emitted[0]).toEqual({ event: 'agent_started', data: { threadId: THREAD } });
        const rest = emitted.slice(1);
        if (expected.refusedAt === undefined) {
          expect(rest).toEqual(expected.events);
          // Lossless: the outbound mapping gives back the agent's events (RUN_STARTED is lockstep's own).
          const back = new LockstepToAgUi({ threadId: THREAD, runId: RUN });
          // A run that failed before RUN_STARTED still starts on the outbound side (AG-UI clients expect RUN_STARTED first).
          const sent = items.slice(0, expected.read ?? items.length);
          const started = (sent[0] as { type?: string }).type === 'RUN_STARTED' ? sent : [{ type: 'RUN_STARTED', threadId: THREAD, runId: RUN }, ...sent];
          expect(emitted.flatMap((e) => back.map(e))).toEqual(started);
        } else {
          expect(rest.slice(0, -1)).toEqual(expected.events.filter((e) => e.event !== 'agent_completed'));
          const end = rest.at(-1)!;
          expect(end.event).toBe('agent_error');
          expect(end.data).toMatchObject({ reason: 'ag_ui_protocol' });
          const detail = (end.data as { detail: string }).detail;
          if (expected.refusedAt === 'end') expect(detail).toMatch(/^the stream ended after \d+ events without RUN_FINISHED or RUN_ERROR/);
          else expect(detail).toMatch(new RegExp(`^event ${expected.refusedAt}[ :]`));
        }
      }),
    );
  });

  it('an event over maxEventBytes ends the run whatever the chunking; one at the bound passes', async () => {
    const event = JSON.stringify({ type: 'CUSTOM', name: 'n', value: 'x'.repeat(100) });
    const line = `data: ${event}`;
    for (const [max, ok] of [[line.length, true], [line.length - 1, false]] as const) {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(), { maxLength: 8 }), async (cuts) => {
          const text = `data: ${JSON.stringify({ type: 'RUN_STARTED', threadId: THREAD, runId: RUN })}\r\n\r\n${line}\r\n\r\ndata: {"type":"RUN_FINISHED","threadId":"${THREAD}","runId":"${RUN}"}\n\n`;
          const emitted: Array<{ event: AgentEventName; data: unknown }> = [];
          const run = startRun(RUN, 'alice', (e, data) => emitted.push({ event: e, data }));
          const body = new ReadableStream<Uint8Array>({ start(c) { for (const chunk of cut(new TextEncoder().encode(text), cuts)) c.enqueue(chunk); c.close(); } });
          await agUiHandler({ url: 'http://agent.invalid/', maxEventBytes: Math.max(max, 80), fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }) })(
            { id: 'm', text: 'hi' }, run, { userId: 'alice', connectionId: 'c1', signal: new AbortController().signal },
          );
          expect(emitted.at(-1)!.event).toBe(ok ? 'agent_completed' : 'agent_error');
          if (!ok) expect(emitted.at(-1)!.data).toMatchObject({ reason: 'ag_ui_event_too_large' });
        }),
        { numRuns: 50 },
      );
    }
  });
});
