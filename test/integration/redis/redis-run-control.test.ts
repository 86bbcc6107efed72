/**
 * Cancel and approvals across nodes (issue 15 items 3 and 5) against a real redis-server: two
 * in-process lockstep servers share users through `createRedisScaleOut`; a run lives on node A
 * and its user's tab on node B cancels it or answers its approval. Exactly one answer wins
 * when tabs on both nodes answer at once; foreign and late requests are refused on either node.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { TestClient } from '../client.js';
import { deferred, eventsOf, startServer, type Harness } from '../harness.js';
import { within } from '../../support/within.js';
import { createRedisScaleOut, type RedisScaleOut } from '../../../src/delivery/redis-scale-out.js';
import type { ApprovalAnswer, MessageHandler } from '../../../src/index.js';
import type { ErrorFrame, EventFrame } from '../../../src/protocol/frames.js';
import { describeWithRedis, RedisProcess } from './redis-harness.js';

const connect = (url: string, user = 'alice') => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
const runEvents = (tab: TestClient, runId: string): EventFrame[] => eventsOf(tab.frames).filter((e) => e.runId === runId);
const errors = (tab: TestClient): ErrorFrame[] => tab.frames.filter((f): f is ErrorFrame => f.type === 'error');

describeWithRedis('run control across nodes (real redis-server)', () => {
  let redis: RedisProcess;
  let prefixes = 0;
  const open: Array<{ harness: Harness; scaleOut: RedisScaleOut }> = [];

  /** Two nodes on one Redis prefix, both running `handler`. */
  async function twoNodes(handler: MessageHandler): Promise<[Harness, Harness]> {
    const prefix = `rc${prefixes++}:`;
    const nodes: Harness[] = [];
    for (let i = 0; i < 2; i++) {
      const scaleOut = await createRedisScaleOut(redis.url, { prefix });
      const harness = await startServer({ scaleOut, handler });
      open.push({ harness, scaleOut });
      nodes.push(harness);
    }
    return [nodes[0]!, nodes[1]!];
  }

  beforeAll(async () => {
    redis = await RedisProcess.start({ aof: false });
  });
  afterEach(async () => {
    for (const { harness, scaleOut } of open.splice(0)) {
      await harness.server.close();
      await harness.server.whenRunsIdle();
      await scaleOut.close();
    }
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a tab on node B cancels a run on node A: the run ends cancelled on every tab, its handler is stopped', async () => {
    const aborted = deferred<unknown>();
    const [a, b] = await twoNodes(async (_message, run, context) => {
      run.text('working');
      await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted.resolve(context.signal.reason);
    });
    const onA = connect(a.url);
    const onB = connect(b.url);
    await Promise.all([onA.untilType('ready'), onB.untilType('ready')]);
    onA.send({ type: 'message', id: 'm1', text: 'long' });
    await onB.until(() => eventsOf(onB.frames).some((e) => e.event === 'text_delta'), 'the run streaming, seen on B');
    const runId = eventsOf(onB.frames)[0]!.runId;

    onB.send({ type: 'cancel', runId });
    await within(aborted.promise, 10_000, "the handler's signal on node A");
    for (const tab of [onA, onB]) {
      await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_error'), 'agent_error on both nodes');
      expect(runEvents(tab, runId).map((e) => [e.event, e.data])).toEqual([
        ['agent_started', {}], ['text_delta', { delta: 'working' }], ['agent_error', { reason: 'cancelled' }],
      ]);
    }
    // Cancelling it again, from either node, or another user's attempt: refused.
    const bob = connect(b.url, 'bob');
    await bob.untilType('ready');
    onB.send({ type: 'cancel', runId });
    onA.send({ type: 'cancel', runId });
    bob.send({ type: 'cancel', runId });
    for (const tab of [onA, onB, bob]) {
      await tab.until(() => errors(tab).length === 1, 'the refusal');
      expect(errors(tab)[0]).toMatchObject({ code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', ref: runId });
    }
    await Promise.all([onA.close(), onB.close(), bob.close()]);
  });

  it("another user cannot cancel a run on another node", async () => {
    const release = deferred();
    const [a, b] = await twoNodes(async () => {
      await release.promise;
      return 'done';
    });
    const alice = connect(a.url);
    const mallory = connect(b.url, 'mallory');
    await Promise.all([alice.untilType('ready'), mallory.untilType('ready')]);
    alice.send({ type: 'message', id: 'm1', text: 'hi' });
    await alice.untilType('ack');
    const runId = (alice.frames.find((f) => f.type === 'ack') as { runId: string }).runId;
    mallory.send({ type: 'cancel', runId });
    await mallory.until(() => errors(mallory).length === 1, "mallory's refusal");
    expect(errors(mallory)[0]).toMatchObject({ code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', ref: runId });
    release.resolve();
    await alice.until(() => runEvents(alice, runId).some((e) => e.event === 'agent_completed'), 'the run completed untouched');
    await Promise.all([alice.close(), mallory.close()]);
  });

  it('approval answered from both nodes at once: exactly one answer wins, the other tab is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const answered = deferred<ApprovalAnswer>();
      const [a, b] = await twoNodes(async (_message, run) => {
        run.toolStarted('t1', { tool: 'send_email' });
        const answer = await run.requestApproval('t1', { tool: 'send_email' });
        answered.resolve(answer);
        run.toolCompleted('t1', { sent: answer.approved });
      });
      const onA = connect(a.url);
      const onB = connect(b.url);
      await Promise.all([onA.untilType('ready'), onB.untilType('ready')]);
      onA.send({ type: 'message', id: 'm1', text: 'mail it' });
      await Promise.all([onA, onB].map((tab) =>
        tab.until(() => eventsOf(tab.frames).some((e) => e.event === 'approval_requested'), 'the request on both nodes')));
      const runId = eventsOf(onA.frames)[0]!.runId;
      onA.send({ type: 'approve', runId, toolCallId: 't1', approved: true, data: { from: 'A' } });
      onB.send({ type: 'approve', runId, toolCallId: 't1', approved: false, data: { from: 'B' } });
      const answer = await within(answered.promise, 10_000, 'the winning answer on node A');
      for (const tab of [onA, onB]) {
        await tab.until(() => runEvents(tab, runId).some((e) => e.event === 'agent_completed'), 'the run completed');
        const resolved = runEvents(tab, runId).filter((e) => e.event === 'approval_resolved');
        expect(resolved).toHaveLength(1);
        expect(resolved[0]!.data).toEqual({ toolCallId: 't1', approved: answer.approved, reason: 'user', data: answer.data });
      }
      // The loser, and only the loser, was told.
      const loser = (answer.data as { from: string }).from === 'A' ? onB : onA;
      const winner = loser === onA ? onB : onA;
      await loser.until(() => errors(loser).length === 1, 'the losing answer refused');
      expect(errors(loser)[0]).toMatchObject({ code: 'LOCKSTEP_E_APPROVAL_NOT_PENDING', ref: runId });
      expect(errors(winner)).toEqual([]);
      await Promise.all([onA.close(), onB.close()]);
      for (const { harness, scaleOut } of open.splice(0)) {
        await harness.server.close();
        await scaleOut.close();
      }
    }
  });
});
