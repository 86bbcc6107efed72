/**
 * Cancels, approvals and deadlines on the real server and real sockets (issue 15 item 7): a
 * user with two tabs and another user send random messages (runs that ask for approval, or
 * stream until stopped), cancels and approval answers naming any run seen so far, while the
 * server's clock jumps (approval and run deadlines pass). At the end the clock passes every
 * deadline, so every run ends. Checked, for every random plan:
 *
 * - both tabs of the user receive the same gap-free stream (I4), each run a word of the grammar (I6);
 * - every cancel frame of the user either ended a run `cancelled` (once per run) or was refused,
 *   and a run ends `cancelled` only if the user asked;
 * - every approve frame of the user either was the one answer of its request (`reason: "user"`)
 *   or was refused: the first answer wins, no request is resolved twice;
 * - the other user's cancels and answers are all refused, and it sees none of the user's events.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { TestClient } from '../integration/client.js';
import { eventsOf, startServer } from '../integration/harness.js';
import { checkStreamHistory } from '../../src/testing/history-checker.js';
import { checkRunGrammar } from '../../src/testing/run-grammar.js';
import type { MessageHandler } from '../../src/index.js';
import type { ErrorFrame, EventFrame } from '../../src/protocol/frames.js';
import { realSocketRuns } from './real-socket-runs.js';

type Action =
  | { kind: 'message'; tab: 0 | 1; mode: 'approve' | 'stream' }
  | { kind: 'cancel'; tab: 0 | 1 | 2; run: number }
  | { kind: 'approve'; tab: 0 | 1 | 2; run: number; approved: boolean }
  | { kind: 'tick'; ms: number }
  /** Waits for a pong on the first tab: what was sent before has been answered, the runs started are known. */
  | { kind: 'settle' };

const tab = fc.constantFrom(0 as const, 1 as const, 2 as const);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('message' as const), tab: fc.constantFrom(0 as const, 1 as const), mode: fc.constantFrom('approve' as const, 'stream' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), tab, run: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('approve' as const), tab, run: fc.nat(3), approved: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 100, max: 1_500 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

const DEADLINES = { approvalTimeoutMs: 1_000, runIdleTimeoutMs: 3_000, runTimeoutMs: 6_000 };

/** Asks for approval of tool call t (then completes), or streams until stopped (cancel or a deadline). */
const handler: MessageHandler = async (message, run, context) => {
  if (message.text === 'approve') {
    run.toolStarted('t', { tool: 'act' });
    const answer = await run.requestApproval('t', { tool: 'act' });
    if (run.ended) return;
    run.toolCompleted('t', { done: answer.approved });
    return { approved: answer.approved };
  }
  run.text('streaming');
  await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
};

const errorsOf = (client: TestClient, code: string) => client.frames.filter((f): f is ErrorFrame => f.type === 'error' && f.code === code);
const ended = (events: EventFrame[], runId: string) => events.some((e) => e.runId === runId && (e.event === 'agent_completed' || e.event === 'agent_error'));

describe('cancel, approvals and deadlines on the real server', () => {
  it('random cancels and answers from two tabs and another user: one answer wins, every request is accounted for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 16 }), async (actions) => {
        const clock = new SimulatedClock();
        const h = await startServer({ clock, handler, ...DEADLINES, limits: { heartbeatMs: 60_000, closeTimeoutMs: 60_000 } });
        const tabs = [0, 1, 2].map((i) => new TestClient(h.url, { protocols: ['lockstep.v1', `lockstep.bearer.${i === 2 ? 'bob' : 'alice'}`] }));
        await Promise.all(tabs.map((t) => t.untilType('ready')));
        const sent = { messages: 0, cancels: [0, 0, 0], approves: [0, 0, 0] };
        const asked = new Map<string, number>(); // run id → alice's cancel frames for it
        let pings = 0;
        for (const [n, a] of actions.entries()) {
          if (a.kind === 'settle') {
            const id = `settle${pings++}`;
            tabs[0]!.send({ type: 'ping', id });
            await tabs[0]!.until(() => tabs[0]!.frames.some((f) => f.type === 'pong' && f.id === id), 'a settling pong');
            continue;
          }
          if (a.kind === 'tick') {
            clock.increment(a.ms);
            continue;
          }
          if (a.kind === 'message') {
            tabs[a.tab]!.send({ type: 'message', id: `m${n}`, text: a.mode });
            sent.messages += 1;
            continue;
          }
          // A run seen so far by alice's first tab (its frames arrive as they come: real interleavings).
          const runs = [...new Set(eventsOf(tabs[0]!.frames).map((e) => e.runId))];
          const runId = runs[a.run % Math.max(1, runs.length)] ?? 'no-run-yet';
          if (a.kind === 'cancel') {
            tabs[a.tab]!.send({ type: 'cancel', runId });
            sent.cancels[a.tab]! += 1;
            if (a.tab !== 2) asked.set(runId, (asked.get(runId) ?? 0) + 1);
          } else {
            tabs[a.tab]!.send({ type: 'approve', runId, toolCallId: 't', approved: a.approved });
            sent.approves[a.tab]! += 1;
          }
        }
        // Every frame answered (acks, refusals), then every run ended by its deadlines at the latest.
        const answered = (i: number) => () => {
          const t = tabs[i]!;
          const acks = t.frames.filter((f) => f.type === 'ack').length;
          const refusals = errorsOf(t, 'LOCKSTEP_E_RUN_NOT_CANCELLABLE').length + errorsOf(t, 'LOCKSTEP_E_APPROVAL_NOT_PENDING').length;
          const own = actions.filter((a, n) => a.kind === 'message' && a.tab === i && n >= 0).length;
          return acks === own && refusals <= sent.cancels[i]! + sent.approves[i]!;
        };
        await Promise.all([0, 1, 2].map((i) => tabs[i]!.until(answered(i), `tab ${i}: every message acked`)));
        const runIds = tabs.slice(0, 2).flatMap((t) => t.frames.flatMap((f) => (f.type === 'ack' ? [f.runId] : [])));
        clock.increment(DEADLINES.runTimeoutMs + 1);
        for (const t of tabs.slice(0, 2)) await t.until(() => runIds.every((id) => ended(eventsOf(t.frames), id)), 'every run ended');
        // A ping per tab after the refusals: once its pong is back, every answer to an earlier frame is in.
        for (const [i, t] of tabs.entries()) {
          t.send({ type: 'ping', id: 'last' });
          await t.until(() => t.frames.some((f) => f.type === 'pong' && f.id === 'last'), `tab ${i}: the last pong`);
        }

        const [a0, a1, bob] = tabs as [TestClient, TestClient, TestClient];
        const stream = eventsOf(a0.frames);
        expect(checkStreamHistory(stream, 0)).toEqual([]);
        expect(eventsOf(a1.frames)).toEqual(stream);
        expect(eventsOf(bob.frames)).toEqual([]);
        const byRun = new Map<string, EventFrame[]>();
        for (const e of stream) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
        for (const events of byRun.values()) {
          expect(checkRunGrammar(events.map((e) => ({ event: e.event, toolCallId: (e.data as { toolCallId?: string }).toolCallId })), true)).toEqual([]);
        }
        // Cancels: each of alice's either ended a run cancelled or was refused; none of bob's did anything.
        const cancelled = [...byRun.entries()].filter(([, events]) => (events.at(-1)!.data as { reason?: string }).reason === 'cancelled').map(([id]) => id);
        for (const id of cancelled) expect(asked.get(id) ?? 0, `run ${id} ended cancelled without a cancel`).toBeGreaterThan(0);
        const aliceRefusedCancels = errorsOf(a0, 'LOCKSTEP_E_RUN_NOT_CANCELLABLE').length + errorsOf(a1, 'LOCKSTEP_E_RUN_NOT_CANCELLABLE').length;
        expect(cancelled.length + aliceRefusedCancels).toBe(sent.cancels[0]! + sent.cancels[1]!);
        // Approvals: each of alice's answers was the one resolution of its request, or refused.
        const resolved = stream.filter((e) => e.event === 'approval_resolved');
        const byUser = resolved.filter((e) => (e.data as { reason: string }).reason === 'user');
        for (const [id, events] of byRun) {
          const requests = events.filter((e) => e.event === 'approval_requested').length;
          expect(events.filter((e) => e.event === 'approval_resolved').length, `run ${id}: resolutions`).toBeLessThanOrEqual(requests);
        }
        const aliceRefusedAnswers = errorsOf(a0, 'LOCKSTEP_E_APPROVAL_NOT_PENDING').length + errorsOf(a1, 'LOCKSTEP_E_APPROVAL_NOT_PENDING').length;
        expect(byUser.length + aliceRefusedAnswers).toBe(sent.approves[0]! + sent.approves[1]!);
        // Bob: every cancel and answer refused.
        expect(errorsOf(bob, 'LOCKSTEP_E_RUN_NOT_CANCELLABLE')).toHaveLength(sent.cancels[2]!);
        expect(errorsOf(bob, 'LOCKSTEP_E_APPROVAL_NOT_PENDING')).toHaveLength(sent.approves[2]!);
        await Promise.all(tabs.map((t) => t.close()));
        await h.server.close();
      }),
      { numRuns: realSocketRuns(25) },
    );
  });
});
