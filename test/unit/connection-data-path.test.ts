/**
 * The data path's rules (machines/connection-data-path.ts) at their boundaries, and that the
 * steady case really bypasses the actor: with the path installed, a flowing connection's
 * events and acks cost no transition, and what the rule leaves to the machine reaches it.
 */
import { describe, expect, it } from 'vitest';
import {
  ackPathDecision,
  ConnectionDataPath,
  eventPathDecision,
  framePathDecision,
  type DataPathPorts,
} from '../../machines/connection-data-path.js';
import type { ConnectionEvent, HandlerInvocation } from '../../machines/connection.js';
import { FRESH_FRAME_COUNTERS } from '../../machines/frame-counters.js';
import { decodeClientFrame } from '../../src/protocol/codec.js';
import type { AckFrame, StreamEvent } from '../../src/protocol/frames.js';
import { runConnectionScenario } from '../../src/testing/connection-scenario.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';

const limits = { highWaterMarkBytes: 1000, maxOutgoingBytes: 4000, messageRate: 10, messageBurst: 2 };
const event = (seq: number): StreamEvent => ({ seq, runId: 'r', event: 'agent_thinking', data: {}, ts: 0 });

describe('eventPathDecision', () => {
  it('writes only the next seq below the high-water mark', () => {
    expect(eventPathDecision(4, 5, 0, limits)).toBe('write');
    expect(eventPathDecision(4, 5, 999, limits)).toBe('write');
    expect(eventPathDecision(4, 5, 1000, limits)).toBe('machine');
    expect(eventPathDecision(4, 6, 0, limits)).toBe('machine');
    expect(eventPathDecision(4, 4, 0, limits)).toBe('machine');
    expect(eventPathDecision(4, 5, 0, { ...limits, highWaterMarkBytes: 10_000, maxOutgoingBytes: 0 })).toBe('machine');
  });
});

describe('ackPathDecision', () => {
  it('writes the ack below the hard bound only', () => {
    expect(ackPathDecision(3999, limits)).toBe('write');
    expect(ackPathDecision(4000, limits)).toBe('machine');
  });
});

function recordingPorts(buffered: { bytes: number; atMs?: number; userTokens?: number }) {
  const written: Array<StreamEvent | AckFrame> = [];
  const handed: ConnectionEvent[] = [];
  const invoked: HandlerInvocation[] = [];
  const spent: string[] = [];
  const ports: DataPathPorts = {
    bufferedBytes: () => buffered.bytes,
    writeEvent: (e) => written.push(e),
    writeAck: (frame) => written.push(frame),
    toMachine: (e) => handed.push(e),
    frameFacts: () => ({
      bufferedBytes: buffered.bytes,
      ...(buffered.atMs === undefined ? {} : { atMs: buffered.atMs }),
      ...(buffered.userTokens === undefined ? {} : { userTokens: buffered.userTokens }),
    }),
    spendUserToken: (userId) => spent.push(userId),
    invokeHandler: (invocation) => invoked.push(invocation),
  };
  return { ports, written, handed, invoked, spent };
}

const message = (id: string) => JSON.stringify({ type: 'message', id, text: 'hi' });

describe('framePathDecision', () => {
  const facts = { bufferedBytes: 0, atMs: 0 };
  it('handles a valid message within both rate limits on a socket under the hard bound, nothing else', () => {
    expect(framePathDecision(decodeClientFrame(message('a')), FRESH_FRAME_COUNTERS, facts, limits)).toBe('handle');
    expect(framePathDecision(decodeClientFrame('{"type":"ping"}'), FRESH_FRAME_COUNTERS, facts, limits)).toBe('machine');
    expect(framePathDecision(decodeClientFrame('{"type":"auth","token":"t"}'), FRESH_FRAME_COUNTERS, facts, limits)).toBe('machine');
    expect(framePathDecision(decodeClientFrame('{bad'), FRESH_FRAME_COUNTERS, facts, limits)).toBe('machine');
    expect(framePathDecision(decodeClientFrame(null), FRESH_FRAME_COUNTERS, facts, limits)).toBe('machine');
    expect(framePathDecision(decodeClientFrame(message('a')), FRESH_FRAME_COUNTERS, { ...facts, bufferedBytes: 4000 }, limits)).toBe('machine');
    expect(framePathDecision(decodeClientFrame(message('a')), FRESH_FRAME_COUNTERS, { ...facts, userTokens: 0.5 }, limits)).toBe('machine');
    const emptyBucket = { ...FRESH_FRAME_COUNTERS, bucket: { tokens: 0.5, atMs: 0 } };
    expect(framePathDecision(decodeClientFrame(message('a')), emptyBucket, facts, limits)).toBe('machine');
    // 10/s: 50 ms later the half token is whole.
    expect(framePathDecision(decodeClientFrame(message('a')), emptyBucket, { ...facts, atMs: 50 }, limits)).toBe('handle');
  });
});

describe('ConnectionDataPath', () => {
  it('hands every event to the machine until installed, and after removal', () => {
    const buffered = { bytes: 0 };
    const { ports, written, handed } = recordingPorts(buffered);
    const path = new ConnectionDataPath(ports, limits);
    path.offerEvent(event(1));
    expect(handed).toEqual([{ type: 'stream.event', event: event(1), bufferedBytes: 0 }]);
    path.installEvents(1);
    path.offerEvent(event(2));
    expect(written).toEqual([event(2)]);
    path.removeEvents();
    path.offerEvent(event(3));
    expect(handed.at(-1)).toEqual({ type: 'stream.event', event: event(3), bufferedBytes: 0 });
    expect(written).toHaveLength(1);
  });

  it('hands a congesting event over with the last seq it wrote', () => {
    const buffered = { bytes: 0 };
    const { ports, handed } = recordingPorts(buffered);
    const path = new ConnectionDataPath(ports, limits);
    path.installEvents(7);
    path.offerEvent(event(8));
    buffered.bytes = 1000;
    path.offerEvent(event(9));
    expect(handed).toEqual([{ type: 'stream.event', event: event(9), bufferedBytes: 1000, writtenSeq: 8 }]);
  });

  it('continues after an event the machine wrote itself', () => {
    const { ports, written } = recordingPorts({ bytes: 0 });
    const path = new ConnectionDataPath(ports, limits);
    path.installEvents(1);
    path.machineWroteEvent(2);
    path.offerEvent(event(3));
    expect(written).toEqual([event(3)]);
  });

  it('writes acks while installed under the hard bound, else hands message.accepted over', () => {
    const buffered = { bytes: 0 };
    const { ports, written, handed } = recordingPorts(buffered);
    const path = new ConnectionDataPath(ports, limits);
    path.offerAccepted({ id: 'm1', runId: 'c.1', duplicate: false });
    path.installAcks();
    path.offerAccepted({ id: 'm2', runId: 'c.1', duplicate: true });
    buffered.bytes = 4000;
    path.offerAccepted({ id: 'm3', runId: 'c.3', duplicate: false });
    expect(written).toEqual([{ type: 'ack', id: 'm2', runId: 'c.1', duplicate: true }]);
    expect(handed).toEqual([
      { type: 'message.accepted', id: 'm1', runId: 'c.1', duplicate: false, bufferedBytes: 0 },
      { type: 'message.accepted', id: 'm3', runId: 'c.3', duplicate: false, bufferedBytes: 4000 },
    ]);
  });
});

describe('machine + data path', () => {
  it('a flowing connection writes 50 events through the path with no transition of the actor', async () => {
    const commands = [
      { kind: 'verify', ok: true },
      { kind: 'backend', ok: true },
      ...Array.from({ length: 50 }, () => ({ kind: 'streamEvent', bufferedBytes: 0 }) as const),
    ] as const;
    const scenario = { credentials: 'upgrade' as const, limits: DEFAULT_CONNECTION_LIMITS, priorEvents: 0, retainEvents: 100, commands: [...commands] };
    let handedToMachine = 0;
    let writtenByPath = 0;
    const withPath = await runConnectionScenario(scenario, {
      dataPath: (ports, pathLimits) =>
        new ConnectionDataPath(
          {
            ...ports,
            writeEvent: (e) => (writtenByPath++, ports.writeEvent(e)),
            toMachine: (e) => (handedToMachine++, ports.toMachine(e)),
          },
          pathLimits,
        ),
    });
    const alone = await runConnectionScenario(scenario, { dataPath: false });
    expect(writtenByPath).toBe(50);
    expect(handedToMachine).toBe(0);
    // The same frames either way: the path only moves the steady case out of the actor.
    expect(withPath.effects).toEqual(alone.effects);
    expect(withPath.effects.filter((e) => e.kind === 'send' && e.frame.type === 'event')).toHaveLength(50);
  });

});

describe('ConnectionDataPath: frames', () => {
  const start = { connectionId: 'c', userId: 'alice', counters: FRESH_FRAME_COUNTERS };

  it('hands every frame to the machine until installed, and after removal', () => {
    const { ports, handed, invoked } = recordingPorts({ bytes: 0, atMs: 0 });
    const path = new ConnectionDataPath(ports, limits);
    path.offerFrame(message('m1'), 30);
    expect(handed).toEqual([{ type: 'socket.frame', data: message('m1'), bytes: 30, bufferedBytes: 0, atMs: 0 }]);
    path.installFrames(start);
    path.offerFrame(message('m2'), 30);
    path.removeFrames();
    path.offerFrame(message('m3'), 30);
    expect(invoked.map((i) => i.message.id)).toEqual(['m2']);
    expect(handed.map((e) => e.type === 'socket.frame' && e.data)).toEqual([message('m1'), message('m3')]);
  });

  it('starts runs with the machine\'s run ids and spends the user token; over the burst, hands the frame over with its counters and waits for the machine', () => {
    const facts = { bytes: 0, atMs: 0 };
    const { ports, handed, invoked, spent } = recordingPorts(facts);
    const path = new ConnectionDataPath(ports, limits);
    path.installFrames(start);
    for (const id of ['m1', 'm2', 'm3', 'm4']) path.offerFrame(message(id), 30);
    expect(invoked).toEqual([
      { connectionId: 'c', userId: 'alice', runId: 'c.1', message: { type: 'message', id: 'm1', text: 'hi' } },
      { connectionId: 'c', userId: 'alice', runId: 'c.2', message: { type: 'message', id: 'm2', text: 'hi' } },
    ]);
    expect(spent).toEqual(['alice', 'alice']);
    // m3 is over the burst (2): the machine gets it with the path's counters; m4 follows it
    // without (the machine's own count is current once it handled m3).
    expect(handed).toHaveLength(2);
    expect(handed[0]).toMatchObject({ type: 'socket.frame', data: message('m3'), counters: { runCount: 2, badFrames: 0, bucket: { tokens: 0, atMs: 0 } } });
    expect(handed[1]).not.toHaveProperty('counters');
    expect(path.framesAwaitMachine).toBe(true);
    // The machine's answer: it refused m3 and m4 (two bad frames); 100 ms later one token is back.
    path.syncFrames({ bucket: { tokens: 0, atMs: 0 }, runCount: 2, badFrames: 2 });
    facts.atMs = 100;
    path.offerFrame(message('m5'), 30);
    expect(invoked.at(-1)).toMatchObject({ runId: 'c.3' });
    expect(path.frames?.counters).toEqual({ bucket: { tokens: 0, atMs: 100 }, runCount: 3, badFrames: 1 });
  });
});

