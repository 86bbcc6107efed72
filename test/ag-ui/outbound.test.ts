/**
 * Issue 17 item 2 on real parts: an AG-UI front end — @ag-ui/client's agent machinery
 * (AbstractAgent.runAgent: chunk transform, AG-UI's own verifier, message assembly) with
 * LockstepAgent as its transport — over lockstep/client on a real WebSocket, to a real
 * lockstep server whose handler is a real AG-UI agent (agUiHandler → HTTP + SSE). The socket
 * is killed mid-run; the client resumes, and the front end receives every event of the agent
 * once, in order (consecutive deltas the client missed arrive coalesced: same text).
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { BaseEvent } from '@ag-ui/core';
import { LockstepAgent } from '../../src/ag-ui/lockstep-agent.js';
import { agUiHandler } from '../../src/ag-ui/handler.js';
import { createLockstepClient, type LockstepClient, type WebSocketConstructor } from '../../src/client/index.js';
import { deferred, startServer, type Harness } from '../integration/harness.js';
import { within } from '../support/within.js';
import { ev, startAgentServer, type AgentServer, type Step } from './agent-server.js';

let h: Harness | undefined;
let agent: AgentServer | undefined;
let client: LockstepClient | undefined;
afterEach(async () => {
  client?.close();
  await h?.server.close();
  await agent?.close();
  h = agent = client = undefined;
});

/** ws, remembering every socket the client opens (so the test can kill one). */
function recordingWebSocket(sockets: WebSocket[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  } as unknown as WebSocketConstructor;
}

/** Consecutive deltas of one message / tool call as one event: what a resume's coalescing may do. */
function mergeDeltas(events: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const e of events) {
    const last = out.at(-1);
    const same = last !== undefined && last.type === e.type && (e.type === 'TEXT_MESSAGE_CONTENT' ? last.messageId === e.messageId : e.type === 'TOOL_CALL_ARGS' && last.toolCallId === e.toolCallId);
    if (same) out[out.length - 1] = { ...last, delta: `${String(last.delta)}${String(e.delta)}` };
    else out.push(e);
  }
  return out;
}

const plain = (e: BaseEvent) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>;

describe('LockstepAgent: an AG-UI front end over lockstep', () => {
  it('a socket killed mid-run: after the resume every event of the AG-UI agent reaches the front end once, in order', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const after: Step[] = [
      ...['lo', ' ', 'wö', 'rld', '!'].map((delta) => ev('TEXT_MESSAGE_CONTENT', { messageId: 'a1', delta })),
      ev('TEXT_MESSAGE_END', { messageId: 'a1' }),
      ev('TOOL_CALL_START', { toolCallId: 't1', toolCallName: 'search', parentMessageId: 'a1' }),
      ...['{"q"', ':"x', '"}'].map((delta) => ev('TOOL_CALL_ARGS', { toolCallId: 't1', delta })),
      ev('TOOL_CALL_END', { toolCallId: 't1' }),
      ev('TOOL_CALL_RESULT', { messageId: 'r1', toolCallId: 't1', content: 'found it' }),
      ev('STATE_SNAPSHOT', { snapshot: { step: 2 } }),
    ];
    const script = (i: { threadId: string; runId: string }): Step[] => [
      ev('RUN_STARTED', { threadId: i.threadId, runId: i.runId }),
      ev('TEXT_MESSAGE_START', { messageId: 'a1', role: 'assistant' }),
      ev('TEXT_MESSAGE_CONTENT', { messageId: 'a1', delta: 'Hel' }),
      { hold: held },
      ...after,
      ev('RUN_FINISHED', { threadId: i.threadId, runId: i.runId }),
    ];
    agent = await startAgentServer((input) => ({ steps: script(input) }));
    h = await startServer({ handler: agUiHandler({ url: agent.url }) });
    const sockets: WebSocket[] = [];
    const readies: string[] = [];
    client = createLockstepClient({ url: h.url, token: 'alice', WebSocket: recordingWebSocket(sockets), backoff: { baseMs: 20, maxMs: 50 } });
    client.on('ready', (ready) => readies.push(ready.outcome));

    const frontEnd = new LockstepAgent({ client, threadId: 'thread-ui' });
    frontEnd.addMessage({ id: 'u1', role: 'user', content: 'hello' });
    const received: BaseEvent[] = [];
    let firstDelta!: () => void;
    const sawFirstDelta = new Promise<void>((resolve) => (firstDelta = resolve));
    const done = frontEnd.runAgent(undefined, {
      onEvent: ({ event }) => {
        received.push(event);
        if (event.type === 'TEXT_MESSAGE_CONTENT') firstDelta();
      },
    });
    await within(sawFirstDelta, 5_000, 'the first delta at the front end');
    // Mid-run: the socket dies, then the agent streams the rest while the client is away.
    sockets.at(-1)!.terminate();
    release();
    await within(done, 10_000, 'runAgent to resolve after the resume');

    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(readies).toContain('resumed');
    const runId = agent.runs[0]!.input.runId;
    const threadId = agent.runs[0]!.input.threadId;
    const agentEvents = script({ threadId, runId }).flatMap((s) => ('event' in s ? [s.event] : []));
    const uiRunId = (received[0] as unknown as { runId: string }).runId;
    // What the agent sent, as the front end's own run (RUN_STARTED / RUN_FINISHED carry its ids).
    const expected = agentEvents.map((e) => (e.type === 'RUN_STARTED' || e.type === 'RUN_FINISHED' ? { ...e, threadId: 'thread-ui', runId: uiRunId } : e));
    expect(mergeDeltas(received.map(plain))).toEqual(mergeDeltas(expected));
    // And what AG-UI assembled from it: the assistant message and its tool call, the state.
    const assistant = frontEnd.messages.find((m) => m.role === 'assistant') as { content: string; toolCalls: Array<{ function: { arguments: string } }> };
    expect(assistant.content).toBe('Hello wörld!');
    expect(assistant.toolCalls[0]!.function.arguments).toBe('{"q":"x"}');
    expect(frontEnd.messages.find((m) => m.role === 'tool')).toMatchObject({ toolCallId: 't1', content: 'found it' });
    expect(frontEnd.state).toEqual({ step: 2 });
  });

  it('a native lockstep handler (no AG-UI agent behind): its run becomes AG-UI events that AG-UI\'s own verifier accepts', async () => {
    h = await startServer({
      handler: async (message, run) => {
        for (const delta of ['an', 'swer ', 'to: ', message.text]) run.text(delta);
        run.thinking({ text: 'looking it up' });
        run.toolStarted('c1', { tool: 'lookup' });
        run.toolArgs('c1', '{"k":1}');
        run.toolCompleted('c1', { output: 42 });
        return { done: true };
      },
    });
    client = createLockstepClient({ url: h.url, token: 'bob', WebSocket: WebSocket as unknown as WebSocketConstructor });
    const frontEnd = new LockstepAgent({ client, threadId: 'th' });
    frontEnd.addMessage({ id: 'u1', role: 'user', content: [{ type: 'text', text: 'hi' }] });
    const types: string[] = [];
    const result = await within(frontEnd.runAgent(undefined, { onEvent: ({ event }) => void types.push(event.type) }), 5_000, 'the native run');
    expect(types).toEqual([
      'RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END',
      'CUSTOM', 'TOOL_CALL_START', 'TOOL_CALL_ARGS', 'TOOL_CALL_END', 'TOOL_CALL_RESULT', 'RUN_FINISHED',
    ]);
    expect(frontEnd.messages.find((m) => m.role === 'assistant')).toMatchObject({ content: 'answer to: hi' });
    expect(frontEnd.messages.find((m) => m.role === 'tool')).toMatchObject({ toolCallId: 'c1', content: '{"output":42}' });
    expect(result.result).toEqual({ done: true });
  });

  it('abortRun() mid-run cancels the lockstep run: the handler\'s signal aborts and the run ends cancelled', async () => {
    const aborted = deferred();
    h = await startServer({
      handler: async (_message, run, context) => {
        run.text('partial');
        await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted.resolve();
      },
    });
    client = createLockstepClient({ url: h.url, token: 'carol', WebSocket: WebSocket as unknown as WebSocketConstructor });
    const frontEnd = new LockstepAgent({ client, threadId: 'th-abort' });
    frontEnd.addMessage({ id: 'u1', role: 'user', content: 'go on forever' });
    const running = frontEnd.runAgent(undefined, {
      onEvent: ({ event }) => {
        if (event.type === 'TEXT_MESSAGE_CONTENT') frontEnd.abortRun();
      },
    });
    running.catch(() => {});
    await within(aborted.promise, 5_000, "the handler's signal after abortRun()");
    const c = client;
    await within(new Promise<void>((resolve) => {
      const check = () => {
        if (c.runs.some((r) => r.status === 'failed')) resolve();
      };
      check();
      c.subscribe(check);
    }), 5_000, 'the run ended cancelled');
    expect(c.runs.find((r) => r.status === 'failed')!.result).toEqual({ reason: 'cancelled' });
  });
});

