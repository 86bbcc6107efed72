/**
 * fast-check explores interleavings of client frames, backend readiness, clock advances,
 * peer close and shutdown against the pure connection machine, and checks after every run:
 *   I1 the handler never runs before `ready`, and `ready` is the first frame sent;
 *   I2 nothing is written after the close began;
 *   I3 every valid message sent is handed to the handler exactly once, in order — unless the
 *      connection ended with an explicit code, in which case what was handled is a prefix.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS } from '../../machines/connection.js';
import { handshakeMachine } from '../../machines/handshake.js';
import type { ServerFrame } from '../../src/protocol/frames.js';

type Command =
  | { kind: 'message' }
  | { kind: 'garbage' }
  | { kind: 'backendReady' }
  | { kind: 'backendFail' }
  | { kind: 'advance'; ms: number }
  | { kind: 'peerClose' }
  | { kind: 'shutdown' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'message' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'garbage' } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'backendReady' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'backendFail' } as const) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((ms) => ({ kind: 'advance', ms }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peerClose' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' } as const) },
);

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Effect =
  | { kind: 'send'; frame: ServerFrame }
  | { kind: 'handler'; id: string }
  | { kind: 'close' }
  | { kind: 'terminate' };

async function runScenario(commands: Command[], useAuthFrame: boolean) {
  const effects: Effect[] = [];
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const backend = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  backend.catch(() => {});
  const clock = new SimulatedClock();
  const machine = connectionMachine.provide({
    actors: {
      handshake: handshakeMachine.provide({
        actors: {
          verifyToken: fromPromise(async ({ input }: { input: { token: string } }) => ({ userId: input.token })),
          checkBackend: fromPromise(() => backend),
        },
      }),
    },
    actions: {
      sendFrame: (_, p) => effects.push({ kind: 'send', frame: p.frame }),
      closeSocket: () => effects.push({ kind: 'close' }),
      terminateSocket: () => effects.push({ kind: 'terminate' }),
      invokeHandler: (_, p) => effects.push({ kind: 'handler', id: p.message.id }),
      joinStream: ({ self }) => self.send({ type: 'stream.joined', epoch: 'e', lastSeq: 0, resumed: false, replay: [] }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { connectionId: 'c', token: useAuthFrame ? undefined : 'alice', limits: DEFAULT_CONNECTION_LIMITS },
  });
  actor.start();
  if (useAuthFrame) actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'auth', token: 'alice' }) });
  const sentIds: string[] = [];
  let peerClosed = false;
  for (const c of commands) {
    if (peerClosed) break;
    switch (c.kind) {
      case 'message': {
        const id = `m${sentIds.length}`;
        sentIds.push(id);
        actor.send({ type: 'socket.frame', data: JSON.stringify({ type: 'message', id, text: 'x' }) });
        break;
      }
      case 'garbage':
        actor.send({ type: 'socket.frame', data: '{oops' });
        break;
      case 'backendReady':
        settle.resolve();
        break;
      case 'backendFail':
        settle.reject(new Error('down'));
        break;
      case 'advance':
        clock.increment(c.ms);
        break;
      case 'peerClose':
        peerClosed = true;
        actor.send({ type: 'socket.close', code: 1000, reason: '' });
        break;
      case 'shutdown':
        actor.send({ type: 'server.shutdown' });
        break;
    }
    await flush();
  }
  return { effects, sentIds, snapshot: actor.getSnapshot(), peerClosed };
}

describe('connection machine under random interleavings', () => {
  it('I1, I2, I3 hold for every ordering of frames, readiness, time, close and shutdown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), fc.boolean(), async (commands, useAuthFrame) => {
        const { effects, sentIds, snapshot, peerClosed } = await runScenario(commands, useAuthFrame);

        // I1: the first frame written is `ready`, and every handler call comes after it.
        const firstSend = effects.findIndex((e) => e.kind === 'send');
        const firstHandler = effects.findIndex((e) => e.kind === 'handler');
        if (firstSend !== -1) expect(effects[firstSend]).toMatchObject({ frame: { type: 'ready' } });
        if (firstHandler !== -1) expect(firstSend).toBeLessThan(firstHandler);

        // I2: no write after the close began.
        const closeAt = effects.findIndex((e) => e.kind === 'close' || e.kind === 'terminate');
        if (closeAt !== -1) expect(effects.slice(closeAt).some((e) => e.kind === 'send')).toBe(false);

        // I3: handled in order, exactly once; all of them unless the connection ended.
        const handled = effects.flatMap((e) => (e.kind === 'handler' ? [e.id] : []));
        expect(handled).toEqual(sentIds.slice(0, handled.length));
        const ended = closeAt !== -1 || peerClosed;
        if (!ended) {
          const ready = snapshot.value !== 'handshaking' && snapshot.value !== 'joining';
          expect(handled).toEqual(ready ? sentIds : []);
          if (!ready) expect(snapshot.context.early.length).toBeGreaterThanOrEqual(sentIds.length);
        } else if (closeAt !== -1) {
          expect(snapshot.context.closeCode).toBeTypeOf('number');
        }
      }),
    );
  });
});
