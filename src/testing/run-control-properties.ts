/**
 * Cancel, approvals and deadlines as a property (issue 15 item 7): a few runs of two users, each
 * driven by random handler calls (deltas, tool calls, approval requests, the end), interleaved
 * with cancels and approval answers from the owner and from another user, and with time passing
 * on a SimulatedClock. The server's run bookkeeping (`OpenRuns`, the run handles and machine) is
 * the real one; the property checks what the user's tabs would receive:
 *
 * - every run's events form a word of the run grammar (I6), nothing follows its end;
 * - an accepted cancel ends the run at once with `agent_error` `{ reason: "cancelled" }`;
 * - another user's cancel or answer is never accepted;
 * - each approval request is resolved at most once, and an accepted answer is that resolution;
 * - no run stays open past `runTimeoutMs`, nor silent past `runIdleTimeoutMs` without an
 *   approval pending, and no approval waits past `approvalTimeoutMs`.
 */
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { startRun, type AgentRunMachine, type ServerRunHandle } from '../agent/run-handle.js';
import { OpenRuns, type DeadlineClock } from '../server/open-runs.js';
import type { RunDeadlineLimits } from '../../machines/run-deadlines.js';
import type { AgentEventName } from '../protocol/frames.js';
import { RunGrammar } from './run-grammar.js';

const LIMITS: RunDeadlineLimits = { runTimeoutMs: 1_000, runIdleTimeoutMs: 300, approvalTimeoutMs: 500 };
const TOOLS = ['t1', 't2'] as const;

type Step =
  | { kind: 'start'; user: 0 | 1 }
  | { kind: 'call'; run: number; call: 'text' | 'thinking' | 'toolStarted' | 'toolArgs' | 'toolCompleted' | 'requestApproval' | 'complete' | 'fail'; tool: string }
  | { kind: 'cancel'; run: number; foreign: boolean }
  | { kind: 'answer'; run: number; tool: string; foreign: boolean; approved: boolean }
  | { kind: 'tick'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('start' as const), user: fc.constantFrom(0 as const, 1 as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      run: fc.nat(3),
      call: fc.constantFrom('text', 'thinking', 'toolStarted', 'toolArgs', 'toolCompleted', 'requestApproval', 'complete', 'fail'),
      tool: fc.constantFrom(...TOOLS),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), run: fc.nat(3), foreign: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('answer' as const), run: fc.nat(3), tool: fc.constantFrom(...TOOLS), foreign: fc.boolean(), approved: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 400 }) }) },
);

/** What the property may swap for a broken variant (the mutation check). */
export interface RunControlPropertyOptions {
  machine?: AgentRunMachine;
  createOpenRuns?: (limits: RunDeadlineLimits, clock: DeadlineClock) => OpenRuns;
}

interface Emitted { event: AgentEventName; toolCallId: string | undefined; data: unknown; at: number }
interface Tracked { runId: string; userId: string; run: ServerRunHandle; events: Emitted[]; startedAt: number }

const USERS = ['alice', 'bob'] as const;

/** The property: see the file comment. */
export function runControlProperty(options: RunControlPropertyOptions = {}) {
  // Every scenario starts with a run of alice's; the steps may start more.
  const scenario = fc.array(step, { minLength: 1, maxLength: 40 }).map((steps): Step[] => [{ kind: 'start', user: 0 }, ...steps]);
  return fc.asyncProperty(scenario, async (steps) => {
    const simulated = new SimulatedClock();
    const clock: DeadlineClock = {
      now: () => simulated.now(),
      setTimeout: (callback, ms) => simulated.setTimeout(callback, ms),
      clearTimeout: (id) => simulated.clearTimeout(id as number),
    };
    const open = options.createOpenRuns?.(LIMITS, clock) ?? new OpenRuns(LIMITS, clock);
    const runs: Tracked[] = [];
    const problems: string[] = [];
    const accepted = new Map<string, number>();

    const begin = (user: 0 | 1) => {
      const runId = `r${runs.length}`;
      const userId = USERS[user];
      const events: Emitted[] = [];
      const watch = open.begin(runId, userId, `c-${userId}`);
      const run = startRun(runId, userId, (event, data) => {
        events.push({ event, toolCallId: (data as { toolCallId?: string } | undefined)?.toolCallId, data, at: simulated.now() });
      }, options.machine, { observer: watch });
      open.attach(watch, run);
      // Driven step by step, like a `startRun` run: its timer is set a microtask later.
      open.watchSoon(watch);
      runs.push({ runId, userId, run, events, startedAt: simulated.now() });
    };

    for (const s of steps) {
      if (s.kind === 'start') {
        if (runs.length < 4) begin(s.user);
        await Promise.resolve(); // the deadline timer is set a microtask after the start
        continue;
      }
      if (s.kind === 'tick') {
        simulated.increment(s.ms);
        await Promise.resolve();
        checkDeadlines(runs, simulated.now(), problems);
        continue;
      }
      const tracked = runs[s.run % Math.max(1, runs.length)];
      if (tracked === undefined) continue;
      const { run, runId } = tracked;
      const other = tracked.userId === 'alice' ? 'bob' : 'alice';
      if (s.kind === 'call') {
        try {
          if (s.call === 'text') run.text('x');
          else if (s.call === 'thinking') run.thinking();
          else if (s.call === 'toolStarted') run.toolStarted(s.tool);
          else if (s.call === 'toolArgs') run.toolArgs(s.tool, '{');
          else if (s.call === 'toolCompleted') run.toolCompleted(s.tool);
          else if (s.call === 'requestApproval') void run.requestApproval(s.tool, { tool: s.tool });
          else if (s.call === 'complete') run.complete();
          else run.fail({ reason: 'handler' });
        } catch {
          // A refused call: the grammar check below sees that nothing was appended for it.
        }
      } else if (s.kind === 'cancel') {
        const before = tracked.events.length;
        const done = open.cancel(s.foreign ? other : tracked.userId, runId);
        if (done && s.foreign) problems.push(`${other} cancelled ${tracked.userId}'s run ${runId}`);
        if (done) {
          const last = tracked.events.at(-1);
          if (!run.ended || last === undefined || tracked.events.length === before || last.event !== 'agent_error' || (last.data as { reason?: string }).reason !== 'cancelled') {
            problems.push(`cancel of ${runId} accepted but the run did not end with agent_error cancelled`);
          }
        }
      } else {
        const before = tracked.events.length;
        const done = open.answerApproval(s.foreign ? other : tracked.userId, runId, s.tool, s.approved, undefined);
        if (done && s.foreign) problems.push(`${other} answered ${tracked.userId}'s approval ${runId}/${s.tool}`);
        if (done) {
          const key = `${runId}/${s.tool}/${tracked.events.filter((e) => e.event === 'approval_requested' && e.toolCallId === s.tool).length}`;
          accepted.set(key, (accepted.get(key) ?? 0) + 1);
          if ((accepted.get(key) ?? 0) > 1) problems.push(`approval ${key} accepted twice`);
          const last = tracked.events.at(-1);
          if (tracked.events.length !== before + 1 || last?.event !== 'approval_resolved' || last.toolCallId !== s.tool) {
            problems.push(`answer to ${runId}/${s.tool} accepted but not resolved with approval_resolved`);
          }
        }
      }
      checkDeadlines(runs, simulated.now(), problems);
    }
    for (const tracked of runs) checkRun(tracked, problems);
    if (problems.length > 0) {
      const trail = runs.map((r) => `${r.runId}(${r.userId}): ${r.events.map((e) => e.event + (e.toolCallId ? `(${e.toolCallId})` : '') + `@${e.at}`).join(' ')}`).join('\n');
      throw new Error(`run control: ${problems.join('; ')}\n${trail}`);
    }
  });
}

/** No open run is past its deadlines at `now`. */
function checkDeadlines(runs: readonly Tracked[], now: number, problems: string[]): void {
  for (const { run, runId, events, startedAt } of runs) {
    if (run.ended) continue;
    if (now - startedAt > LIMITS.runTimeoutMs) problems.push(`${runId} still open ${now - startedAt} ms after its start (runTimeoutMs ${LIMITS.runTimeoutMs})`);
    const pending = run.pendingApprovals;
    const lastAt = events.at(-1)?.at ?? startedAt;
    if (pending.length === 0 && now - lastAt > LIMITS.runIdleTimeoutMs) problems.push(`${runId} silent for ${now - lastAt} ms and still open`);
    for (const toolCallId of pending) {
      const asked = events.findLast((e) => e.event === 'approval_requested' && e.toolCallId === toolCallId);
      if (asked !== undefined && now - asked.at > LIMITS.approvalTimeoutMs) problems.push(`${runId}/${toolCallId} waits ${now - asked.at} ms for approval`);
    }
  }
}

/** The run's events as its tabs receive them: a word of the grammar, one resolution per request. */
function checkRun({ runId, events }: Tracked, problems: string[]): void {
  const grammar = new RunGrammar();
  for (const [at, e] of events.entries()) {
    const record = { event: e.event, toolCallId: e.toolCallId };
    const refusal = grammar.refusal(record);
    if (refusal !== undefined) problems.push(`${runId}: ${e.event}${e.toolCallId ? `(${e.toolCallId})` : ''} at ${at}: ${refusal}`);
    else grammar.accept(record);
  }
}
