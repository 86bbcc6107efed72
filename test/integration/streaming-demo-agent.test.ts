/**
 * The streaming demo agent (`lockstep serve --demo-delta-ms N`) on real sockets: its answer
 * arrives as word deltas after the tool call, paced, concatenating to the answer exactly; a
 * cancel mid-answer ends the run cancelled, no delta follows, and the agent itself stops at
 * its next delta (context.signal) instead of working through the rest of the answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answerDeltas, demoAnswer, streamingDemoAgent } from '../../src/agent/streaming-demo-agent.js';
import type { MessageHandler } from '../../src/agent/handler.js';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer, type Harness } from './harness.js';
import { within } from '../support/within.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string) => new TestClient(url, { protocols: ['lockstep.v1', 'lockstep.bearer.alice'] });

describe('streaming demo agent', () => {
  it('streams the answer as word deltas after the tool call; the deltas concatenate to the answer', async () => {
    h = await startServer({ handler: streamingDemoAgent({ deltaMs: 2 }) });
    const c = connect(h.url);
    await c.until(() => c.frames.some((f) => f.type === 'ready'), 'ready');
    c.send({ type: 'message', id: 'm1', text: 'hello' });
    await c.until(() => eventsOf(c.frames).some((e) => e.event === 'agent_completed'), 'agent_completed');
    const events = eventsOf(c.frames);
    const deltas = answerDeltas(demoAnswer('hello'));
    expect(deltas.length).toBeGreaterThan(20);
    expect(events.map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', ...deltas.map(() => 'text_delta'), 'agent_completed']);
    expect(events.filter((e) => e.event === 'text_delta').map((e) => (e.data as { delta: string }).delta).join('')).toBe(demoAnswer('hello'));
    expect(events.at(-1)?.data).toEqual({ deltas: deltas.length });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    await c.close();
  });

  it('a cancel mid-answer: the run ends cancelled, no delta follows, and the agent stops at its next delta', async () => {
    const returned = deferred();
    // 2,000 words at 20 ms each: ~40 s if the agent ignored its signal.
    const agent = streamingDemoAgent({ deltaMs: 20, answer: () => 'word '.repeat(2_000) });
    const handler: MessageHandler = async (...args) => {
      await agent(...args);
      returned.resolve();
    };
    h = await startServer({ handler });
    const c = connect(h.url);
    await c.until(() => c.frames.some((f) => f.type === 'ready'), 'ready');
    c.send({ type: 'message', id: 'm1', text: 'stop me' });
    await c.until(() => eventsOf(c.frames).filter((e) => e.event === 'text_delta').length >= 3, 'three deltas');
    const runId = eventsOf(c.frames)[0]!.runId;
    c.send({ type: 'cancel', runId });
    await c.until(() => eventsOf(c.frames).some((e) => e.event === 'agent_error'), 'agent_error');
    await within(returned.promise, 2_000, 'the agent to return after the cancel (context.signal)');
    // A ping's pong after the agent returned: anything it emitted would have come before.
    c.send({ type: 'ping', id: 'p1' });
    await c.until(() => c.frames.some((f) => f.type === 'pong'), 'pong');
    const events = eventsOf(c.frames);
    expect(events.at(-1)).toMatchObject({ event: 'agent_error', data: { reason: 'cancelled' } });
    expect(events.filter((e) => e.event === 'text_delta').length).toBeLessThan(100);
    await c.close();
  });

  it('a message that asks for approval: the tool waits for the answer; denied, it does not run', async () => {
    h = await startServer({ handler: streamingDemoAgent({ deltaMs: 1 }) });
    const c = connect(h.url);
    await c.until(() => c.frames.some((f) => f.type === 'ready'), 'ready');
    c.send({ type: 'message', id: 'm1', text: 'approve this echo' });
    await c.until(() => eventsOf(c.frames).some((e) => e.event === 'approval_requested'), 'approval_requested');
    const request = eventsOf(c.frames).find((e) => e.event === 'approval_requested')!;
    expect(request.data).toMatchObject({ tool: 'echo', args: { text: 'approve this echo' } });
    c.send({ type: 'approve', runId: request.runId, toolCallId: (request.data as { toolCallId: string }).toolCallId, approved: false });
    await c.until(() => eventsOf(c.frames).some((e) => e.event === 'agent_completed'), 'agent_completed');
    expect(eventsOf(c.frames).map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'approval_requested', 'approval_resolved', 'tool_completed', 'text_delta', 'agent_completed']);
    expect(eventsOf(c.frames).find((e) => e.event === 'tool_completed')!.data).toMatchObject({ skipped: 'denied' });
    await c.close();
  });
});

