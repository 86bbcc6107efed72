/**
 * Exhaustive bounded exploration of the run grammar machine (I6), executed against its real
 * caller: every generated path is replayed through `startRun` (the handle agents use), and at
 * every step each event the model refuses must be refused by the handle too, emitting nothing.
 */
import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { agentRunMachine, type AgentRunEvent } from '../../machines/agent-run.js';
import { startRun, type ServerRunHandle } from '../../src/agent/run-handle.js';
import { LockstepError } from '../../src/protocol/errors.js';
import { assertComplete, explore, summary } from './explore.js';

// Two tool call ids are enough to open several calls at once and close them in any order.
const EVENTS: AgentRunEvent[] = [
  { type: 'run.thinking' },
  { type: 'run.textDelta' },
  { type: 'run.toolArgsDelta', toolCallId: 'a' },
  { type: 'run.toolArgsDelta', toolCallId: 'b' },
  { type: 'run.toolStarted', toolCallId: 'a' },
  { type: 'run.toolStarted', toolCallId: 'b' },
  { type: 'run.toolCompleted', toolCallId: 'a' },
  { type: 'run.toolCompleted', toolCallId: 'b' },
  { type: 'run.approvalRequested', toolCallId: 'a' },
  { type: 'run.approvalRequested', toolCallId: 'b' },
  { type: 'run.approvalResolved', toolCallId: 'a' },
  { type: 'run.approvalResolved', toolCallId: 'b' },
  { type: 'run.complete' },
  { type: 'run.fail' },
];

function apply(run: ServerRunHandle, event: AgentRunEvent): void {
  switch (event.type) {
    case 'run.thinking': return run.thinking();
    case 'run.textDelta': return run.text('x');
    case 'run.toolArgsDelta': return run.toolArgs(event.toolCallId, '{');
    case 'run.toolStarted': return run.toolStarted(event.toolCallId);
    case 'run.toolCompleted': return run.toolCompleted(event.toolCallId);
    case 'run.approvalRequested': void run.requestApproval(event.toolCallId, { tool: 'search' }); return;
    // The server's side: a refused answer appends nothing and says so (the server answers the client).
    case 'run.approvalResolved':
      if (!run.resolveApproval(event.toolCallId, { approved: true, reason: 'user' })) {
        throw new LockstepError('LOCKSTEP_ERR_EVENT_ORDER', `no approval of ${event.toolCallId} pending`);
      }
      return;
    case 'run.complete': return run.complete();
    case 'run.fail': return run.fail();
  }
}

const NAME: Record<AgentRunEvent['type'], string> = {
  'run.thinking': 'agent_thinking',
  'run.textDelta': 'text_delta',
  'run.toolArgsDelta': 'tool_args_delta',
  'run.toolStarted': 'tool_executing',
  'run.toolCompleted': 'tool_completed',
  'run.approvalRequested': 'approval_requested',
  'run.approvalResolved': 'approval_resolved',
  'run.complete': 'agent_completed',
  'run.fail': 'agent_error',
};

describe('agent-run machine, explored with xstate/graph', () => {
  const exploration = explore({
    name: 'agent-run',
    machine: agentRunMachine,
    inputs: [{ runId: 'r' }],
    events: () => EVENTS,
    serialize: (s) => JSON.stringify([s.value, s.context.openToolCalls, s.context.pendingApprovals]),
  });

  it('reaches every state and takes every transition', () => {
    assertComplete(exploration, exploration.statesReached, exploration.transitionsTaken);
  });

  it('every path replays through the real run handle; every refused event is refused there too', () => {
    let refusals = 0;
    for (const path of exploration.paths) {
      const emitted: string[] = [];
      const run = startRun('r', 'u', (name) => emitted.push(name));
      expect(emitted).toEqual(['agent_started']);
      for (const [i, step] of path.steps.entries()) {
        const before: AnyMachineSnapshot | undefined = path.steps[i - 1]?.state;
        if (before !== undefined) {
          apply(run, step.event as AgentRunEvent);
          expect(emitted.at(-1)).toBe(NAME[(step.event as AgentRunEvent).type]);
        }
        const state = step.state as AnyMachineSnapshot;
        expect(run.ended).toBe(state.status === 'done');
        expect(run.openToolCalls).toEqual(state.context.openToolCalls);
        expect(run.pendingApprovals).toEqual(state.context.pendingApprovals);
        for (const refused of EVENTS.filter((e: EventObject) => !state.can(e))) {
          const count = emitted.length;
          expect(() => apply(run, refused)).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_EVENT_ORDER' }));
          expect(emitted.length).toBe(count);
          refusals++;
        }
      }
    }
    console.log(summary(exploration, exploration.paths.length, `through startRun (${refusals} refusals checked)`));
  });
});
