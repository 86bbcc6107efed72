/**
 * The runs of the messages accepted in one turn start together, a microtask later
 * (src/server/deferred-starts.ts). A start that throws — here the application's `onTrace`
 * hook, called as each run starts — is logged, and loses no other message's run: the next
 * message of the same burst and every later one still run, and the server keeps serving.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLockstepServer, type LockstepServer } from '../../src/server/create-server.js';
import { TestClient } from './client.js';
import { eventsOf } from './harness.js';

let server: LockstepServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a run start that throws', () => {
  it('is logged as "run not started"; the other messages of its burst, and later ones, still run', async () => {
    const errors: Array<{ fields: Record<string, unknown>; msg: string | undefined }> = [];
    server = createLockstepServer({
      port: 0,
      host: '127.0.0.1',
      auth: 'dev',
      handler: (message) => `done ${message.text}`,
      onTrace: (entry) => {
        if (entry.kind === 'handler' && entry.runId?.endsWith('.1')) throw new Error('trace sink down');
      },
      logger: { info: () => {}, warn: () => {}, error: (fields, msg) => errors.push({ fields: fields as Record<string, unknown>, msg }) },
    });
    const { port } = await server.listen();
    const client = new TestClient(`ws://127.0.0.1:${port}/ws`, { protocols: ['lockstep.v1', 'lockstep.bearer.alice'] });
    await client.untilType('ready');
    // One write (the TCP socket corked around both frames): the server reads both in one chunk,
    // so both runs are queued in the same turn and start in the same batch.
    const tcp = (client.ws as unknown as { _socket: Socket })._socket;
    tcp.cork();
    client.send({ type: 'message', id: 'm1', text: 'one' });
    client.send({ type: 'message', id: 'm2', text: 'two' });
    tcp.uncork();
    await client.untilType('ack', 2);
    await client.until(() => eventsOf(client.frames).length === 2, 'the second run of the burst (2 events)');
    const [first, second] = client.frames.filter((f) => f.type === 'ack') as Array<{ runId: string }>;
    expect(eventsOf(client.frames).map((e) => [e.runId, e.event])).toEqual([[second!.runId, 'agent_started'], [second!.runId, 'agent_completed']]);
    expect(errors).toEqual([{ fields: expect.objectContaining({ runId: first!.runId, err: 'Error: trace sink down' }), msg: 'run not started' }]);

    client.send({ type: 'message', id: 'm3', text: 'three' });
    await client.until(() => eventsOf(client.frames).length === 4, 'a later message run (2 more events)');
    expect(eventsOf(client.frames).at(-1)?.data).toEqual({ text: 'done three' });
    await client.close();
  });
});
