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
  type DataPathPorts,
} from '../../machines/connection-data-path.js';
import type { ConnectionEvent } from '../../machines/connection.js';
import type { AckFrame, StreamEvent } from '../../src/protocol/frames.js';
import { runConnectionScenario } from '../../src/testing/connection-scenario.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';

const limits = { highWaterMarkBytes: 1000, maxOutgoingBytes: 4000 };
const event = (seq: number): StreamEvent => ({ seq, runId: 'r', event: 'agent_thinking', data: {}, ts: 0 });

describe('eventPathDecision', () => {
  it('writes only the next seq below the high-water mark', () => {
    expect(eventPathDecision(4, 5, 0, limits)).toBe('write');
    expect(eventPathDecision(4, 5, 999, limits)).toBe('write');
    expect(eventPathDecision(4, 5, 1000, limits)).toBe('machine');
    expect(eventPathDecision(4, 6, 0, limits)).toBe('machine');
    expect(eventPathDecision(4, 4, 0, limits)).toBe('machine');
    expect(eventPathDecision(4, 5, 0, { highWaterMarkBytes: 10_000, maxOutgoingBytes: 0 })).toBe('machine');
  });
});

describe('ackPathDecision', () => {
  it('writes the ack below the hard bound only', () => {
    expect(ackPathDecision(3999, limits)).toBe('write');
    expect(ackPathDecision(4000, limits)).toBe('machine');
  });
});

function recordingPorts(buffered: { bytes: number }) {
  const written: Array<StreamEvent | AckFrame> = [];
  const handed: ConnectionEvent[] = [];
  const ports: DataPathPorts = {
    bufferedBytes: () => buffered.bytes,
    writeEvent: (e) => written.push(e),
    writeAck: (frame) => written.push(frame),
    toMachine: (e) => handed.push(e),
  };
  return { ports, written, handed };
}

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
