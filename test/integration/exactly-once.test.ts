/** Exactly-once client messages: a repeated message id is acked again and starts no run. */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { eventsOf, startServer, type Harness } from './harness.js';
import type { AckFrame } from '../../src/protocol/frames.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });
const acks = (c: TestClient) => c.frames.filter((f): f is AckFrame => f.type === 'ack');

describe('exactly-once messages', () => {
  it('a duplicate id — on the same socket or after a reconnect — is acked duplicate:true with the original run', async () => {
    h = await startServer();
    const first = connect(h.url, 'alice');
    await first.untilType('ready');
    first.send({ type: 'message', id: 'same', text: 'once' });
    first.send({ type: 'message', id: 'same', text: 'once' });
    await first.untilType('ack', 2);
    await first.until(() => eventsOf(first.frames).length === 5, 'one run');
    const [original, repeat] = acks(first);
    expect(original).toEqual({ type: 'ack', id: 'same', runId: original?.runId });
    expect(repeat).toEqual({ type: 'ack', id: 'same', runId: original?.runId, duplicate: true });
    await first.close();

    const again = connect(h.url, 'alice');
    await again.untilType('ready');
    again.send({ type: 'message', id: 'same', text: 'once' });
    again.send({ type: 'message', id: 'new', text: 'twice' });
    await again.until(() => eventsOf(again.frames).length === 5, 'only the new run');
    expect(acks(again)[0]).toEqual({ type: 'ack', id: 'same', runId: original?.runId, duplicate: true });
    expect(eventsOf(again.frames).map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
    expect(eventsOf(again.frames).every((e) => e.runId === acks(again)[1]?.runId)).toBe(true);

    // Another user may use the same id: ids are per user.
    const other = connect(h.url, 'bob');
    await other.untilType('ready');
    other.send({ type: 'message', id: 'same', text: 'mine' });
    await other.until(() => eventsOf(other.frames).length === 5, 'bob run');
    expect(acks(other)[0]?.duplicate).toBeUndefined();
    await Promise.all([again.close(), other.close()]);
  });
});
