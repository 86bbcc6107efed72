/**
 * Deliberately broken variants of lockstep, each a bug that the seeds' systems had or that a
 * plausible refactoring would introduce. The mutation suite asserts the invariant properties
 * catch every one of them: a suite that cannot fail proves nothing.
 */
import { createMachine, enqueueActions, type SimulatedClock } from 'xstate';
import { agentRunMachine, type AgentRunMachineConfig } from './agent-run-config.js';
import { connectionMachine } from '../../machines/connection.js';
import { ConnectionDataPath, type DataPath, type DataPathFactory } from '../../machines/connection-data-path.js';
import { decodeClientFrame } from '../../src/protocol/codec.js';
import { MemoryEventLog, type EventLog } from '../../src/delivery/event-log.js';
import { StreamHub } from '../../src/delivery/stream-hub.js';
import type { NewStreamEvent } from '../../src/delivery/event-log.js';
import { coalesceDeltas, deltaKey } from '../../src/delivery/delta-coalescing.js';
import type { MaybePromise } from '../../src/delivery/maybe-promise.js';
import type { StreamEvent } from '../../src/protocol/frames.js';
import type { ConnectionMachine } from '../../src/testing/connection-scenario.js';
import { OpenRuns } from '../../src/server/open-runs.js';

type HoldFrame = Parameters<ConnectionMachine['provide']>[0]['actions'] extends infer A
  ? A extends { holdFrame?: infer H } ? H : never
  : never;

/** A `holdFrame` that, for message frames, calls `decide` to choose: hand over now, or hold. */
function holdUnless(decide: () => boolean): HoldFrame {
  return enqueueActions(({ context, event, enqueue }) => {
    if (event.type !== 'socket.frame') return;
    const data = (event as unknown as { data: string | null }).data;
    const decoded = decodeClientFrame(data);
    if (decoded.ok && decoded.frame.type === 'message' && decide()) {
      enqueue({
        type: 'invokeHandler',
        params: { connectionId: context.connectionId, userId: context.userId ?? '', runId: `${context.connectionId}.early`, message: decoded.frame },
      });
      return;
    }
    enqueue.assign({ early: [...context.early, data], heldFrames: context.heldFrames + 1 });
  }) as unknown as HoldFrame;
}

/** The handler is invoked while the handshake is still running (the original race). */
export const handlerWhileHandshaking = (): ConnectionMachine =>
  connectionMachine.provide({ actions: { holdFrame: holdUnless(() => true) } });

/**
 * The handshake reads the socket before it accepted: while the token is being verified, a
 * frame is dispatched (a message goes to the handler) instead of held — the original race,
 * inside the handshake's own states (`handshaking.authenticating.verifying`).
 */
export function handshakeReadsWhileVerifying(): ConnectionMachine {
  type Node = { states?: Record<string, Node>; on?: Record<string, unknown> } & Record<string, unknown>;
  const config = connectionMachine.config as unknown as Node;
  const handshaking = config.states!.handshaking!;
  const authenticating = handshaking.states!.authenticating!;
  const verifying = authenticating.states!.verifying!;
  const broken = createMachine({
    ...config,
    states: {
      ...config.states,
      handshaking: {
        ...handshaking,
        states: {
          ...handshaking.states,
          authenticating: {
            ...authenticating,
            states: { ...authenticating.states, verifying: { ...verifying, on: { ...verifying.on, 'socket.frame': { actions: 'dispatchFrame' } } } },
          },
        },
      },
    },
  } as never).provide(connectionMachine.implementations as never);
  return broken as unknown as ConnectionMachine;
}

/** Frames that arrive before ready are dropped instead of held. */
export const earlyFramesDropped = (): ConnectionMachine =>
  connectionMachine.provide({ actions: { holdFrame: (() => {}) as unknown as HoldFrame } });

/**
 * The seeds' fix: "sleep 25 ms, then the socket must be ready". Frames arriving 25 ms after
 * the connection opened are handed over even if the handshake is still waiting.
 */
export function sleepGate(): { machine: ConnectionMachine; onClock: (clock: SimulatedClock) => void } {
  let clock: SimulatedClock | undefined;
  return {
    machine: connectionMachine.provide({ actions: { holdFrame: holdUnless(() => (clock?.now() ?? 0) >= 25) } }),
    onClock: (c) => (clock = c),
  };
}

/** Replay starts one event late: the event right after the client's lastSeq is skipped. */
export class BoundarySkippingLog extends MemoryEventLog {
  override readAfter(userId: string, afterSeq: number): StreamEvent[] | undefined {
    return afterSeq > 0 ? super.readAfter(userId, afterSeq)?.slice(1) : super.readAfter(userId, afterSeq);
  }
}

/** Fan-out keyed by the wrong user: alice's events reach bob's connections. */
export class MisroutingHub extends StreamHub {
  override publish(userId: string, event: NewStreamEvent): MaybePromise<StreamEvent> {
    return super.publish(userId === 'alice' ? 'bob' : userId, event);
  }
}

/**
 * A coalesced delta that drops one delta: the replay's frame still claims the whole range
 * `fromSeq..seq`, but the text of the second delta of each stretch is missing (a join that
 * skips an element, an off-by-one in a slice). Every seq is covered once: only the text shows it.
 */
export const coalescingDropsADelta = (log: EventLog): StreamHub =>
  new StreamHub(log, {
    coalesce: (events) =>
      coalesceDeltas(events.map((event, i) => {
        const previous = events[i - 1];
        const joins = previous !== undefined && deltaKey(event) !== undefined && deltaKey(previous) === deltaKey(event) && previous.seq + 1 === event.seq;
        const firstJoin = joins && !(i >= 2 && deltaKey(events[i - 2] as StreamEvent) === deltaKey(event) && (events[i - 2] as StreamEvent).seq + 2 === event.seq);
        return firstJoin ? { ...event, data: { delta: '' } } : event;
      })),
  });

/** The run machine with `agent_completed` accepted while a tool call is open. */
export function completesWithToolOpen(): typeof agentRunMachine {
  const config = agentRunMachine.config as unknown as AgentRunMachineConfig;
  const toolsOpen = config.states.toolsOpen;
  const broken = createMachine({
    ...config,
    states: { ...config.states, toolsOpen: { ...toolsOpen, on: { ...toolsOpen.on, 'run.complete': 'completed' } } },
  }).provide(agentRunMachine.implementations as never);
  return broken as unknown as typeof agentRunMachine;
}

// ── Data path mutants (machines/connection-data-path.ts): each wraps lockstep's own path and
// breaks one rule, the way a careless optimisation of the hot path would. ──

/** Wraps lockstep's data path, overriding some of its methods (the rest delegate to it). */
function wrappedPath(override: (inner: ConnectionDataPath) => Partial<DataPath>): DataPathFactory {
  return (ports, limits) => {
    const inner = new ConnectionDataPath(ports, limits);
    const changed = override(inner);
    return {
      installEvents: (lastSeq) => inner.installEvents(lastSeq),
      removeEvents: () => inner.removeEvents(),
      installAcks: () => inner.installAcks(),
      removeAcks: () => inner.removeAcks(),
      machineWroteEvent: (seq) => inner.machineWroteEvent(seq),
      offerEvent: (event) => inner.offerEvent(event),
      offerAccepted: (accepted) => inner.offerAccepted(accepted),
      installFrames: (start) => inner.installFrames(start),
      removeFrames: () => inner.removeFrames(),
      syncFrames: (counters) => inner.syncFrames(counters),
      offerFrame: (data, bytes) => inner.offerFrame(data, bytes),
      get frames() {
        return inner.frames;
      },
      get framesAwaitMachine() {
        return inner.framesAwaitMachine;
      },
      get lastSeq() {
        return inner.lastSeq;
      },
      get eventsInstalled() {
        return inner.eventsInstalled;
      },
      get acksInstalled() {
        return inner.acksInstalled;
      },
      ...changed,
    };
  };
}

/** The event path never looks at the send buffer: it keeps writing to a congested socket. */
export const pathWritesWhenCongested = (): DataPathFactory => (ports, limits) =>
  new ConnectionDataPath(ports, { ...limits, highWaterMarkBytes: Infinity, maxOutgoingBytes: Infinity });

/** Every third event is counted as written but never written (an off-by-one in a batch loop). */
export const pathSkipsASeq = (): DataPathFactory =>
  wrappedPath((inner) => ({
    offerEvent: (event) => {
      if (inner.eventsInstalled && event.seq === inner.lastSeq + 1 && event.seq % 3 === 0) inner.machineWroteEvent(event.seq);
      else inner.offerEvent(event);
    },
  }));

/** `removeEvents` is lost: the path keeps writing after the machine left `flowing` (congested, closing). */
export const pathOutlivesFlowing = (): DataPathFactory => wrappedPath(() => ({ removeEvents: () => {} }));

/** The path installs itself when the first event comes, instead of waiting for `ready.flow.flowing`. */
export const pathWritesBeforeReady = (): DataPathFactory =>
  wrappedPath((inner) => ({
    offerEvent: (event) => {
      if (!inner.eventsInstalled) inner.installEvents(event.seq - 1);
      inner.offerEvent(event);
    },
  }));

/** The frame path never asks the rate limits: every valid message starts a run, however many come. */
export const framePathIgnoresRateLimit = (): DataPathFactory => (ports, limits) =>
  new ConnectionDataPath(ports, { ...limits, messageBurst: Infinity });

/** The frame path takes messages from the first frame on, instead of waiting for `ready` to install it (the original race). */
export const framePathBeforeReady = (): DataPathFactory =>
  wrappedPath((inner) => ({
    offerFrame: (data, bytes) => {
      if (inner.frames === undefined) inner.installFrames({ connectionId: 'c', userId: 'alice', counters: { bucket: undefined, runCount: 0, badFrames: 0 } });
      inner.offerFrame(data, bytes);
    },
  }));

/** `removeFrames` is lost: messages keep starting runs after the machine left `ready` (closing, closed). */
export const framePathOutlivesReady = (): DataPathFactory => wrappedPath(() => ({ removeFrames: () => {} }));

/** The machine's counters never reach the path: it goes on from its own stale count (run ids repeat, refused frames are forgotten). */
export const framePathIgnoresMachine = (): DataPathFactory =>
  wrappedPath((inner) => ({
    syncFrames: () => {
      if (inner.frames !== undefined) inner.syncFrames(inner.frames.counters);
    },
  }));

/** Run bookkeeping whose cancel says "done" and aborts nothing: the run stays open. */
export class CancelLeavesRunOpen extends OpenRuns {
  override cancel(userId: string, runId: string): boolean {
    return this.pendingOf(runId)?.userId === userId;
  }
}

/** Run bookkeeping that accepts every answer while the run is open: a second answer to one approval is "accepted" too. */
export class ApprovalAnsweredTwice extends OpenRuns {
  override answerApproval(userId: string, runId: string, toolCallId: string, approved: boolean, data: unknown): boolean {
    return super.answerApproval(userId, runId, toolCallId, approved, data) || this.pendingOf(runId)?.userId === userId;
  }
}

/** Run bookkeeping that never sets a deadline timer: a hung run stays open forever. */
export class DeadlinesNeverArmed extends OpenRuns {
  override rearm(): void {}
}

/** The run machine with `agent_error` not final: after a cancel the handler's events still reach the user. */
export function failKeepsRunOpen(): typeof agentRunMachine {
  const config = agentRunMachine.config as unknown as AgentRunMachineConfig;
  const states = Object.fromEntries(Object.entries(config.states).map(([name, state]) => {
    const on = state.on as Record<string, unknown> | undefined;
    return [name, on?.['run.fail'] === undefined ? state : { ...state, on: { ...on, 'run.fail': 'thinking' } }];
  }));
  const broken = createMachine({ ...config, states: states as never }).provide(agentRunMachine.implementations as never);
  return broken as unknown as typeof agentRunMachine;
}
