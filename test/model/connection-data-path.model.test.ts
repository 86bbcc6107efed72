/**
 * Every path of the connection machine's exhaustive exploration (xstate/graph, the paths of
 * connection.model.test.ts), executed with the data path installed (machines/connection-data-path.ts)
 * and routed as the server routes it — client frames through the frame path, stream events
 * through the event path, the message recorder's answers through the ack path — against the
 * same path on the machine alone. Each step must end in the model's state, and the two runs must
 * do exactly the same: the same frames, acks, handler calls (with their run ids), closes, pings,
 * joins, in the same order. The real server's run of these paths is connection.model.test.ts
 * (inspected connections keep the full actor path, so it sees every event as the model does).
 */
import { describe, expect, it } from 'vitest';
import { createActor, type AnyMachineSnapshot, type EventObject } from 'xstate';
import { connectionMachine, type ConnectionContext, type ConnectionEvent } from '../../machines/connection.js';
import type { SocketFacts } from '../../machines/connection-bounds.js';
import { ConnectionDataPath } from '../../machines/connection-data-path.js';
import { explore, type Path } from './explore.js';
import { connectionSpec } from './connection-model.js';
import { MODEL_LIMITS, StepClock, delayMs } from './server-driver.js';

const exploration = explore(connectionSpec);

/** What one run did, in order (the machine's effects, or the path's writes and calls standing for them). */
type Effect = Record<string, unknown>;

/** Runs `path` on the pure machine, with a data path or alone; returns the effects and each step's state value. */
function run(path: Path, withPath: boolean): { effects: Effect[]; states: unknown[] } {
  const effects: Effect[] = [];
  const clock = new StepClock();
  let dataPath: ConnectionDataPath | undefined;
  const machine = connectionMachine.provide({
    // The handshake's answers, the delivery layer's and the drain are path events here.
    actions: {
      verifyToken: (_, p) => effects.push({ verify: p.token }),
      checkBackend: () => effects.push({ checkBackend: true }),
      sendFrame: (_, p) => {
        effects.push({ send: p.frame });
        if (p.frame.type === 'event') dataPath?.machineWroteEvent(p.frame.seq);
      },
      closeSocket: (_, p) => effects.push({ close: p }),
      terminateSocket: () => effects.push({ terminate: true }),
      ping: (_, p) => effects.push({ ping: p.payload }),
      invokeHandler: (_, p) => effects.push({ handler: p.runId, id: p.message.id }),
      spendUserToken: (_, p) => effects.push({ spend: p.userId }),
      joinStream: () => effects.push({ join: true }),
      leaveStream: () => effects.push({ leave: true }),
      readFromLog: (_, p) => effects.push({ readLog: p.afterSeq }),
      watchDrain: () => effects.push({ watchDrain: true }),
      installEventPath: (_, p) => dataPath?.installEvents(p.lastSeq),
      removeEventPath: () => dataPath?.removeEvents(),
      installAckPath: () => dataPath?.installAcks(),
      removeAckPath: () => dataPath?.removeAcks(),
      installFramePath: (_, p) => dataPath?.installFrames(p),
      removeFramePath: () => dataPath?.removeFrames(),
      syncFramePath: (_, p) => dataPath?.syncFrames(p.counters),
    },
  });
  const first = path.steps[0]!.state as AnyMachineSnapshot;
  const actor = createActor(machine, {
    input: { connectionId: 'c', token: (first.context as ConnectionContext).token, limits: { ...MODEL_LIMITS } },
    clock,
  });
  // The facts of the step being routed: what the socket and the server report with it.
  let facts: SocketFacts = {};
  if (withPath) {
    dataPath = new ConnectionDataPath(
      {
        bufferedBytes: () => facts.bufferedBytes ?? 0,
        writeEvent: (event) => effects.push({ send: { type: 'event', ...event } }),
        writeAck: (frame) => effects.push({ send: frame }),
        toMachine: (event) => actor.send(event),
        frameFacts: () => {
          const { bytes: _bytes, ...rest } = facts;
          return rest;
        },
        spendUserToken: (userId) => effects.push({ spend: userId }),
        invokeHandler: (p) => effects.push({ handler: p.runId, id: p.message.id }),
      },
      MODEL_LIMITS,
    );
  }
  actor.start();
  const states: unknown[] = [actor.getSnapshot().value];
  for (const [j, step] of path.steps.entries()) {
    if (j === 0) continue;
    const event = step.event as EventObject & Record<string, unknown>;
    facts = event as SocketFacts;
    if (event.type.startsWith('xstate.after.')) clock.fire(delayMs(event.type));
    else if (dataPath && event.type === 'socket.frame') dataPath.offerFrame(event.data as string | null, (event.bytes as number | undefined) ?? String(event.data ?? '').length);
    else if (dataPath && event.type === 'stream.event') dataPath.offerEvent((event as unknown as { event: Parameters<ConnectionDataPath['offerEvent']>[0] }).event);
    else if (dataPath && event.type === 'message.accepted') {
      const { id, runId, duplicate } = event as unknown as { id: string; runId: string; duplicate: boolean };
      dataPath.offerAccepted({ id, runId, duplicate });
    } else actor.send(event as ConnectionEvent);
    states.push(actor.getSnapshot().value);
  }
  actor.stop();
  return { effects, states };
}

describe('connection machine + data path, on every explored path (xstate/graph)', () => {
  it('each step ends in the model\'s state and the run does exactly what the machine alone does', () => {
    let routedByPath = 0;
    for (const [i, path] of exploration.paths.entries()) {
      const alone = run(path, false);
      const withPath = run(path, true);
      const expected = path.steps.map((s) => (s.state as AnyMachineSnapshot).value);
      expect(withPath.states, `path ${i}: states with the data path`).toEqual(expected);
      expect(alone.states, `path ${i}: states of the machine alone`).toEqual(expected);
      expect(withPath.effects, `path ${i}: ${path.steps.map((s) => s.event.type).join(' → ')}`).toEqual(alone.effects);
      if (path.steps.some((s) => ['socket.frame', 'stream.event', 'message.accepted'].includes(s.event.type))) routedByPath++;
    }
    console.log(`[xstate/graph] connection + data path: ${exploration.paths.length} paths, ${routedByPath} routed through the data path, same effects as the machine alone`);
    expect(routedByPath).toBeGreaterThan(0);
  });
});
