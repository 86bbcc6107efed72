/**
 * Issue 15 item 5 on real sockets: `await run.requestApproval(id, { tool, args })` emits
 * `approval_requested` to every tab of the user; an `approve` frame from any of them resolves it
 * (first answer wins, `approval_resolved` to every tab, the answer and its data to the handler);
 * a later, foreign or unknown answer gets `LOCKSTEP_E_APPROVAL_NOT_PENDING` (ref = the run id);
 * the request survives a reconnect (replayed by the resume, answered after it); and an
 * unanswered approval is resolved `approved: false`, `reason: "timeout"` at `approvalTimeoutMs`
 * (a SimulatedClock: never by waiting).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer, type Harness } from './harness.js';
import { within } from '../support/within.js';
import type { ApprovalAnswer, MessageHandler } from '../../src/index.js';
import type { ErrorFrame, EventFrame, ReadyFrame } from '../../src/protocol/frames.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string, user = 'alice') => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
const runEvents = (tab: TestClient, runId: string): EventFrame[] => eventsOf(tab.frames).filter((e) => e.runId === runId);
const errors = (tab: TestClient): ErrorFrame[] => tab.frames.filter((f): f is ErrorFrame => f.type === 'error');

/** A handler whose tool asks first, then runs (or not) as the answer says; it reports the answer. */
function askingHandler() {
  const answered = deferred<ApprovalAnswer>();
  const handler: MessageHandler = async (_message, run) => {
    run.toolStarted('t1', { tool: 'delete_file' });
    run.toolArgs('t1', '{"path":"/tmp/x"}');
    const answer = await run.requestApproval('t1', { tool: 'delete_file', args: { path: '/tmp/x' } });
    answered.resolve(answer);
    run.toolCompleted('t1', answer.approved ? { result: 'deleted' } : { skipped: true });
    return answer.approved ? 'deleted it' : 'left it';
  };
  return { handler, answered };
}

async function startAsking(h: Harness, tab: TestClient): Promise<string> {
  tab.send({ type: 'message', id: 'm1', text: 'delete /tmp/x' });
  await tab.until(() => eventsOf(tab.frames).some((e) => e.event === 'approval_requested'), 'approval_requested');
  return eventsOf(tab.frames)[0]!.runId;
}

describe('approvals', () => {
  it('any tab answers, the first answer wins; later, foreign and unknown answers are refused', async () => {
    const asking = askingHandler();
    h = await startServer({ handler: asking.handler, limits: { maxBadFrames: 2 } });
    const tab1 = connect(h.url);
    const tab2 = connect(h.url);
    const bob = connect(h.url, 'bob');
    await Promise.all([tab1.untilType('ready'), tab2.untilType('ready'), bob.untilType('ready')]);
    const runId = await startAsking(h, tab1);
    await tab2.until(() => runEvents(tab2, runId).some((e) => e.event === 'approval_requested'), 'the request on the other tab');
    expect(runEvents(tab2, runId).find((e) => e.event === 'approval_requested')!.data).toEqual({
      tool: 'delete_file', args: { path: '/tmp/x' }, toolCallId: 't1',
    });

    // Bob cannot answer alice's approval, and is told exactly like an unknown one.
    bob.send({ type: 'approve', runId, toolCallId: 't1', approved: true });
    await bob.until(() => errors(bob).length === 1, "bob's refusal");
    tab2.send({ type: 'approve', runId, toolCallId: 't1', approved: true, data: { note: 'go ahead' } });
    tab1.send({ type: 'approve', runId, toolCallId: 't1', approved: false });
    tab1.send({ type: 'approve', runId, toolCallId: 'no-such-call', approved: true });
    expect(await within(asking.answered.promise, 5_000, 'the answer reaching the handler')).toEqual({
      approved: true, reason: 'user', data: { note: 'go ahead' },
    });
    await tab1.until(() => errors(tab1).length === 2, 'two refusals on tab1');
    for (const refused of [...errors(bob), ...errors(tab1)]) {
      expect(refused).toMatchObject({ code: 'LOCKSTEP_E_APPROVAL_NOT_PENDING', ref: runId });
    }
    for (const tab of [tab1, tab2]) {
      await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_completed'), 'the run completed');
      expect(runEvents(tab, runId).map((e) => e.event)).toEqual([
        'agent_started', 'tool_executing', 'tool_args_delta', 'approval_requested', 'approval_resolved', 'tool_completed', 'agent_completed',
      ]);
      expect(runEvents(tab, runId).find((e) => e.event === 'approval_resolved')!.data).toEqual({
        toolCallId: 't1', approved: true, reason: 'user', data: { note: 'go ahead' },
      });
    }
    // Refusals are not bad frames: three of them did not close tab1 (maxBadFrames 2); bad approve frames are.
    tab1.send({ type: 'approve', runId, toolCallId: 't1', approved: 'yes' });
    await tab1.until(() => errors(tab1).length === 3, 'a malformed approve');
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'LOCKSTEP_E_BAD_FRAME', ref: runId });
    tab1.send({ type: 'approve', runId, toolCallId: 't1', approved: true, data: { big: 'x'.repeat(17 * 1024) } });
    await tab1.until(() => errors(tab1).length === 4 || tab1.ws.readyState !== tab1.ws.OPEN, 'approve data over 16 KiB');
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'LOCKSTEP_E_BAD_FRAME', message: expect.stringContaining('at most 16384') });
    await Promise.all([tab1.close(), tab2.close(), bob.close()]);
  });

  it('survives a reconnect: the resume replays the pending request, an answer sent after it is accepted', async () => {
    const asking = askingHandler();
    h = await startServer({ handler: asking.handler });
    const tab = connect(h.url);
    await tab.untilType('ready');
    const runId = await startAsking(h, tab);
    const { epoch } = tab.frames.find((f) => f.type === 'ready') as ReadyFrame;
    const startedSeq = eventsOf(tab.frames)[0]!.seq;
    await tab.close();

    const back = connect(`${h.url}?epoch=${epoch}&lastSeq=${startedSeq}`);
    await back.until(() => runEvents(back, runId).some((e) => e.event === 'approval_requested'), 'the pending request in the resume');
    expect((back.frames.find((f) => f.type === 'ready') as ReadyFrame).resumed).toBe(true);
    back.send({ type: 'approve', runId, toolCallId: 't1', approved: false });
    expect(await within(asking.answered.promise, 5_000, 'the answer after the resume')).toEqual({ approved: false, reason: 'user' });
    await back.until(() => runEvents(back, runId).some((e) => e.event === 'agent_completed'), 'the run completed');
    expect(runEvents(back, runId).at(-1)!.data).toEqual({ text: 'left it' });
    expect(errors(back)).toEqual([]);
    await back.close();
  });

  it('unanswered within approvalTimeoutMs: resolved approved:false, reason "timeout"; the run goes on; idle time does not count while waiting', async () => {
    const clock = new SimulatedClock();
    const asking = askingHandler();
    h = await startServer({ clock, handler: asking.handler, approvalTimeoutMs: 30_000, runIdleTimeoutMs: 10_000 });
    const tab = connect(h.url);
    await tab.untilType('ready');
    const runId = await startAsking(h, tab);
    // Longer than the idle deadline: a run waiting for a person is not idle.
    clock.increment(29_000);
    tab.send({ type: 'ping', id: 'p' });
    await tab.until(() => tab.frames.some((f) => f.type === 'pong'), 'pong');
    expect(runEvents(tab, runId).map((e) => e.event)).not.toContain('agent_error');
    clock.increment(1_000);
    expect(await within(asking.answered.promise, 5_000, 'the approval timing out')).toEqual({ approved: false, reason: 'timeout' });
    await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_completed'), 'the run completed after the timeout');
    expect(runEvents(tab, runId).find((e) => e.event === 'approval_resolved')!.data).toEqual({ toolCallId: 't1', approved: false, reason: 'timeout' });
    tab.send({ type: 'approve', runId, toolCallId: 't1', approved: true });
    await tab.until(() => errors(tab).length === 1, 'a late answer refused');
    expect(errors(tab)[0]).toMatchObject({ code: 'LOCKSTEP_E_APPROVAL_NOT_PENDING', ref: runId });
    await tab.close();
  });

  it('a cancel while waiting ends the run; the waiting handler hears run_ended', async () => {
    const asking = askingHandler();
    h = await startServer({ handler: asking.handler });
    const tab = connect(h.url);
    await tab.untilType('ready');
    const runId = await startAsking(h, tab);
    tab.send({ type: 'cancel', runId });
    expect(await within(asking.answered.promise, 5_000, 'the request answered by the end of the run')).toEqual({ approved: false, reason: 'run_ended' });
    await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_error'), 'agent_error');
    expect(runEvents(tab, runId).map((e) => e.event)).toEqual(['agent_started', 'tool_executing', 'tool_args_delta', 'approval_requested', 'agent_error']);
    tab.send({ type: 'approve', runId, toolCallId: 't1', approved: true });
    await tab.until(() => errors(tab).length === 1, 'an answer after the end refused');
    expect(errors(tab)[0]).toMatchObject({ code: 'LOCKSTEP_E_APPROVAL_NOT_PENDING' });
    await tab.close();
  });
});
