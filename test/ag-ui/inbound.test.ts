/**
 * Issue 17 item 1 on real parts: a real AG-UI agent (HTTP + SSE written by @ag-ui/encoder)
 * behind a real lockstep server (agUiHandler), and a real WebSocket client. A good agent's run
 * reaches the client mapped event by event; a bad agent per refusal rule gets its run ended
 * with `agent_error` and a precise reason, and nothing out of order reaches the client; a
 * cancel aborts the agent's HTTP request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventFrame } from '../../src/protocol/frames.js';
import { agUiHandler } from '../../src/ag-ui/handler.js';
import { TestClient } from '../integration/client.js';
import { eventsOf, startServer, type Harness } from '../integration/harness.js';
import { within } from '../support/within.js';
import { ev, startAgentServer, type AgentServer, type Script, type Step } from './agent-server.js';

const START = (input: { threadId: string; runId: string }) => ev('RUN_STARTED', { threadId: input.threadId, runId: input.runId });
const FINISH = (input: { threadId: string; runId: string }) => ev('RUN_FINISHED', { threadId: input.threadId, runId: input.runId });

/** The good agent: a streamed answer, one tool call with streamed arguments and its result, a state snapshot. */
const good = (input: { threadId: string; runId: string }): Step[] => [
  START(input),
  ev('TEXT_MESSAGE_START', { messageId: 'a1', role: 'assistant' }),
  ev('TEXT_MESSAGE_CONTENT', { messageId: 'a1', delta: 'Hel' }),
  ev('TEXT_MESSAGE_CONTENT', { messageId: 'a1', delta: 'lo ' }),
  ev('TEXT_MESSAGE_CONTENT', { messageId: 'a1', delta: 'wörld' }),
  ev('TEXT_MESSAGE_END', { messageId: 'a1' }),
  ev('TOOL_CALL_START', { toolCallId: 't1', toolCallName: 'search', parentMessageId: 'a1' }),
  ev('TOOL_CALL_ARGS', { toolCallId: 't1', delta: '{"q":' }),
  ev('TOOL_CALL_ARGS', { toolCallId: 't1', delta: '"x"}' }),
  ev('TOOL_CALL_END', { toolCallId: 't1' }),
  ev('TOOL_CALL_RESULT', { messageId: 'r1', toolCallId: 't1', content: 'found' }),
  ev('STATE_SNAPSHOT', { snapshot: { n: 1 } }),
  FINISH(input),
];

/** One bad agent per refusal rule: its stream, the lockstep events before the refusal, and the reason/detail expected. */
interface BadAgent { steps: (input: { threadId: string; runId: string }) => Step[]; before: string[]; reason: string; detail: RegExp; script?: Partial<Script> }
const BAD: Record<string, BadAgent> = {
  'content for an unknown message id': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_CONTENT', { messageId: 'nope', delta: 'x' })],
    before: [], reason: 'ag_ui_protocol', detail: /^event 2 \(TEXT_MESSAGE_CONTENT\): text message nope is unknown \(no TEXT_MESSAGE_START\)$/,
  },
  'content for a closed message': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_START', { messageId: 'm' }), ev('TEXT_MESSAGE_END', { messageId: 'm' }), ev('TEXT_MESSAGE_CONTENT', { messageId: 'm', delta: 'late' })],
    before: ['agent_thinking', 'agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 4 \(TEXT_MESSAGE_CONTENT\): text message m is closed/,
  },
  'a second TEXT_MESSAGE_START for an open message': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_START', { messageId: 'm' }), ev('TEXT_MESSAGE_START', { messageId: 'm' })],
    before: ['agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 3 \(TEXT_MESSAGE_START\): text message m is already open$/,
  },
  'TOOL_CALL_END for an unknown id': {
    steps: (i) => [START(i), ev('TOOL_CALL_END', { toolCallId: 'ghost' })],
    before: [], reason: 'ag_ui_protocol', detail: /^event 2 \(TOOL_CALL_END\): tool call ghost is unknown \(no TOOL_CALL_START\)$/,
  },
  'TOOL_CALL_ARGS after TOOL_CALL_END': {
    steps: (i) => [START(i), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' }), ev('TOOL_CALL_END', { toolCallId: 't' }), ev('TOOL_CALL_ARGS', { toolCallId: 't', delta: '{}' })],
    before: ['tool_executing', 'agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 4 \(TOOL_CALL_ARGS\): tool call t is not streaming arguments/,
  },
  'a second TOOL_CALL_START for an open call': {
    steps: (i) => [START(i), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' }), ev('TOOL_CALL_END', { toolCallId: 't' }), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' })],
    before: ['tool_executing', 'agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 4 \(TOOL_CALL_START\): tool call t is already open \(awaiting its TOOL_CALL_RESULT\)$/,
  },
  'TOOL_CALL_RESULT before TOOL_CALL_END': {
    steps: (i) => [START(i), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' }), ev('TOOL_CALL_RESULT', { messageId: 'r', toolCallId: 't', content: 'x' })],
    before: ['tool_executing'], reason: 'ag_ui_protocol', detail: /^event 3 \(TOOL_CALL_RESULT\): tool call t has no TOOL_CALL_END yet/,
  },
  'a second TOOL_CALL_RESULT': {
    steps: (i) => [START(i), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' }), ev('TOOL_CALL_END', { toolCallId: 't' }), ev('TOOL_CALL_RESULT', { messageId: 'r', toolCallId: 't', content: 'x' }), ev('TOOL_CALL_RESULT', { messageId: 'r2', toolCallId: 't', content: 'y' })],
    before: ['tool_executing', 'agent_thinking', 'tool_completed'], reason: 'ag_ui_protocol', detail: /^event 5 \(TOOL_CALL_RESULT\): tool call t already has its TOOL_CALL_RESULT$/,
  },
  'an event after RUN_FINISHED': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_START', { messageId: 'm' }), ev('TEXT_MESSAGE_END', { messageId: 'm' }), FINISH(i), ev('TEXT_MESSAGE_START', { messageId: 'm2' })],
    before: ['agent_thinking', 'agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 5 \(TEXT_MESSAGE_START\) after RUN_FINISHED: nothing may follow the end of the run$/,
  },
  'RUN_FINISHED with a tool call open': {
    steps: (i) => [START(i), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' }), FINISH(i)],
    before: ['tool_executing'], reason: 'ag_ui_protocol', detail: /^event 3 \(RUN_FINISHED\): tool call t still open \(no TOOL_CALL_END\)$/,
  },
  'RUN_FINISHED with a text message open': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_START', { messageId: 'm' }), FINISH(i)],
    before: ['agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 3 \(RUN_FINISHED\): text message m still open/,
  },
  'a stream that ends without RUN_FINISHED': {
    steps: (i) => [START(i), ev('STEP_STARTED', { stepName: 's' })],
    before: ['agent_thinking'], reason: 'ag_ui_protocol', detail: /^the stream ended after 2 events without RUN_FINISHED or RUN_ERROR$/,
  },
  'a stream that ends with a tool call open': {
    steps: (i) => [START(i), ev('TOOL_CALL_START', { toolCallId: 't', toolCallName: 'f' }), ev('TOOL_CALL_ARGS', { toolCallId: 't', delta: '{' })],
    before: ['tool_executing', 'tool_args_delta'], reason: 'ag_ui_protocol', detail: /^the stream ended after 3 events without RUN_FINISHED or RUN_ERROR; still open: tool call t$/,
  },
  'a first event other than RUN_STARTED': {
    steps: () => [ev('TEXT_MESSAGE_START', { messageId: 'm' })],
    before: [], reason: 'ag_ui_protocol', detail: /^event 1 \(TEXT_MESSAGE_START\): the first event must be RUN_STARTED$/,
  },
  'a second RUN_STARTED': {
    steps: (i) => [START(i), START(i)],
    before: [], reason: 'ag_ui_protocol', detail: /^event 2 \(RUN_STARTED\): a second RUN_STARTED in one run$/,
  },
  'malformed JSON': {
    steps: (i) => [START(i), { raw: 'data: {"type":"TEXT_MESSAGE_START",\n\n' }],
    before: [], reason: 'ag_ui_protocol', detail: /^event 2: its data is not JSON: "\{\\"type\\":\\"TEXT_MESSAGE_START\\","$/,
  },
  'an unknown event type': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_BEGIN', { messageId: 'm' })],
    before: [], reason: 'ag_ui_protocol', detail: /^event 2: unknown type "TEXT_MESSAGE_BEGIN"$/,
  },
  'a required field missing': {
    steps: (i) => [START(i), ev('TEXT_MESSAGE_START', { messageId: 'm' }), ev('TEXT_MESSAGE_CONTENT', { messageId: 'm' })],
    before: ['agent_thinking'], reason: 'ag_ui_protocol', detail: /^event 3 \(TEXT_MESSAGE_CONTENT\): delta must be a string, got undefined$/,
  },
  'an SSE event over maxEventBytes': {
    steps: (i) => [START(i), ev('CUSTOM', { name: 'big', value: 'x'.repeat(5000) })],
    before: [], reason: 'ag_ui_event_too_large', detail: /^an SSE event grew over maxEventBytes \(4096 bytes\) before its blank line$/,
  },
  'a content-type other than text/event-stream': {
    steps: (i) => [START(i), FINISH(i)], script: { contentType: 'application/json' },
    before: [], reason: 'ag_ui_protocol', detail: /^the agent answered content-type "application\/json", not text\/event-stream$/,
  },
};

let agent: AgentServer;
let h: Harness;
/** Scripts by message text; the good agent otherwise. */
const scripts = new Map<string, (input: { threadId: string; runId: string }) => Script>();

beforeAll(async () => {
  agent = await startAgentServer((input) => scripts.get(input.messages[0]!.content)?.(input) ?? { steps: good(input) });
  h = await startServer({ handler: agUiHandler({ url: agent.url, headers: { 'x-agent-key': 'k1' }, maxEventBytes: 4096 }) });
});
afterAll(async () => {
  await h?.server.close();
  await agent?.close();
});

const connect = (url: string, user = 'alice') => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

/** The events of the run `messageId` started, once it ended. */
async function runOf(client: TestClient, messageId: string): Promise<EventFrame[]> {
  await client.until(() => client.frames.some((f) => f.type === 'ack' && f.id === messageId), `the ack of ${messageId}`);
  const ack = client.frames.find((f) => f.type === 'ack' && f.id === messageId) as { runId: string };
  const events = () => eventsOf(client.frames).filter((e) => e.runId === ack.runId);
  await client.until(() => events().some((e) => e.event === 'agent_completed' || e.event === 'agent_error'), `the end of the run of ${messageId}`);
  return events();
}

describe('agUiHandler: a good AG-UI agent', () => {
  it('its RunAgentInput carries the thread, the run id, the message and its metadata; every event reaches the client mapped', async () => {
    const client = connect(h.url);
    await client.untilType('ready');
    client.send({ type: 'message', id: 'g1', text: 'hi there', threadId: 'thread-7', metadata: { locale: 'de' } });
    const events = await within(runOf(client, 'g1'), 5_000, 'the good run');
    expect(events.map((e) => e.event)).toEqual([
      'agent_started', 'agent_thinking', 'text_delta', 'text_delta', 'text_delta', 'agent_thinking',
      'tool_executing', 'tool_args_delta', 'tool_args_delta', 'agent_thinking', 'tool_completed', 'agent_thinking', 'agent_completed',
    ]);
    const runId = events[0]!.runId;
    const received = agent.runs.find((r) => r.input.runId === runId)!;
    expect(received.input).toEqual({
      threadId: 'thread-7', runId, state: {}, tools: [], context: [], forwardedProps: { locale: 'de' },
      messages: [{ id: 'g1', role: 'user', content: 'hi there' }],
    });
    expect(received.headers).toMatchObject({ accept: 'text/event-stream', 'content-type': 'application/json', 'x-agent-key': 'k1' });
    expect(events.filter((e) => e.event === 'text_delta').map((e) => (e.data as { delta: string }).delta).join('')).toBe('Hello wörld');
    expect(events[1]!.data).toEqual({ agUi: { type: 'TEXT_MESSAGE_START', messageId: 'a1', role: 'assistant' } });
    expect(events[6]!.data).toEqual({ toolCallId: 't1', tool: 'search', agUi: { type: 'TOOL_CALL_START', toolCallId: 't1', toolCallName: 'search', parentMessageId: 'a1' } });
    expect(events[7]!.data).toEqual({ toolCallId: 't1', delta: '{"q":' });
    expect(events[10]!.data).toEqual({ toolCallId: 't1', result: 'found', agUi: { type: 'TOOL_CALL_RESULT', messageId: 'r1', toolCallId: 't1', content: 'found' } });
    expect(events[12]!.data).toEqual({ agUi: { type: 'RUN_FINISHED', threadId: 'thread-7', runId } });
    await client.close();
  });

  it('RUN_ERROR ends the run with agent_error reason agent_error; a front-end tool awaiting its result is closed at RUN_FINISHED', async () => {
    scripts.set('error', (i) => ({ steps: [START(i), ev('STEP_STARTED', { stepName: 'plan' }), ev('RUN_ERROR', { message: 'model overloaded', code: 'overloaded' })] }));
    scripts.set('frontend tool', (i) => ({ steps: [START(i), ev('TOOL_CALL_START', { toolCallId: 'ft', toolCallName: 'confirm' }), ev('TOOL_CALL_END', { toolCallId: 'ft' }), FINISH(i)] }));
    const client = connect(h.url);
    await client.untilType('ready');
    client.send({ type: 'message', id: 'e1', text: 'error' });
    client.send({ type: 'message', id: 'f1', text: 'frontend tool' });
    const failed = await within(runOf(client, 'e1'), 5_000, 'the RUN_ERROR run');
    expect(failed.map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'agent_error']);
    expect(failed[2]!.data).toEqual({ reason: 'agent_error', message: 'model overloaded', code: 'overloaded', agUi: { type: 'RUN_ERROR', message: 'model overloaded', code: 'overloaded' } });
    const frontend = await within(runOf(client, 'f1'), 5_000, 'the front-end tool run');
    expect(frontend.map((e) => e.event)).toEqual(['agent_started', 'tool_executing', 'agent_thinking', 'tool_completed', 'agent_completed']);
    expect(frontend[3]!.data).toEqual({ toolCallId: 'ft', awaitingResult: true });
    await client.close();
  });
});

describe('agUiHandler: a bad agent per refusal rule', () => {
  it('each run ends with agent_error and the precise reason; what came before the refusal is all that reached the client', async () => {
    for (const [name, bad] of Object.entries(BAD)) scripts.set(name, (i) => ({ ...bad.script, steps: bad.steps(i) }));
    const client = connect(h.url);
    await client.untilType('ready');
    const names = Object.keys(BAD);
    names.forEach((name, n) => client.send({ type: 'message', id: `b${n}`, text: name }));
    for (const [n, name] of names.entries()) {
      const events = await within(runOf(client, `b${n}`), 5_000, `the run of "${name}"`);
      const bad = BAD[name]!;
      expect(events.map((e) => e.event), name).toEqual(['agent_started', ...bad.before, 'agent_error']);
      const data = events.at(-1)!.data as { reason: string; detail: string };
      expect(data.reason, name).toBe(bad.reason);
      expect(data.detail, name).toMatch(bad.detail);
    }
    // Nothing of any run after its end: each run's agent_error is its last event on the stream.
    const events = eventsOf(client.frames);
    for (const end of events.filter((e) => e.event === 'agent_error')) {
      expect(events.filter((e) => e.runId === end.runId && e.seq > end.seq)).toEqual([]);
    }
    await client.close();
  });

  it('an agent that is unreachable, or answers a non-2xx status, ends the run with agent_error and the reason', async () => {
    const down = await startAgentServer(() => ({ steps: [] }));
    const downUrl = down.url;
    await down.close();
    const unreachable = await startServer({ handler: agUiHandler({ url: downUrl }) });
    scripts.set('503', () => ({ status: 503, steps: [{ raw: 'busy' }] }));
    try {
      const client = connect(unreachable.url);
      await client.untilType('ready');
      client.send({ type: 'message', id: 'u1', text: 'hi' });
      const events = await within(runOf(client, 'u1'), 5_000, 'the unreachable run');
      expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_error']);
      expect(events[1]!.data).toMatchObject({ reason: 'agent_unreachable', message: expect.stringMatching(new RegExp(`^POST ${downUrl} failed: fetch failed \\(.*ECONNREFUSED`)) });
      await client.close();

      const client2 = connect(h.url);
      await client2.untilType('ready');
      client2.send({ type: 'message', id: 's1', text: '503' });
      const status = await within(runOf(client2, 's1'), 5_000, 'the 503 run');
      expect(status.map((e) => e.event)).toEqual(['agent_started', 'agent_error']);
      expect(status[1]!.data).toEqual({ reason: 'agent_http_status', status: 503, message: `POST ${agent.url} answered HTTP 503 Service Unavailable` });
      await client2.close();
    } finally {
      await unreachable.server.close();
    }
  });
});

describe('agUiHandler: cancel', () => {
  it('a cancel frame aborts the HTTP request to the agent; nothing the agent streams afterwards reaches the client', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    scripts.set('hold', (i) => ({ steps: [START(i), ev('TEXT_MESSAGE_START', { messageId: 'm' }), ev('TEXT_MESSAGE_CONTENT', { messageId: 'm', delta: 'thinking…' }), { hold: held }, ev('TEXT_MESSAGE_CONTENT', { messageId: 'm', delta: 'late' })], keepOpen: true }));
    const client = connect(h.url);
    await client.untilType('ready');
    client.send({ type: 'message', id: 'c1', text: 'hold' });
    await client.until(() => eventsOf(client.frames).some((e) => e.event === 'text_delta'), 'the first delta');
    const runId = eventsOf(client.frames)[0]!.runId;
    const received = agent.runs.find((r) => r.input.runId === runId)!;
    client.send({ type: 'cancel', runId });
    await within(received.clientGone, 5_000, 'the agent seeing its request aborted');
    release();
    const events = await within(runOf(client, 'c1'), 5_000, 'the cancelled run');
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'text_delta', 'agent_error']);
    expect(events[3]!.data).toMatchObject({ reason: 'cancelled' });
    await client.close();
  });
});
