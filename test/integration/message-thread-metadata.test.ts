/**
 * Issue 15 item 6 on real sockets: a `message` frame's `threadId` and `metadata` reach the
 * handler unchanged, the run carries the thread (`agent_started` `data.threadId`, `run.threadId`),
 * and metadata over the documented bound (16 KiB of JSON) is refused with
 * `LOCKSTEP_E_METADATA_TOO_LARGE` (ref = the message id; no ack, no run).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { eventsOf, startServer, type Harness } from './harness.js';
import type { IncomingMessage } from '../../src/agent/handler.js';
import { MESSAGE_METADATA_MAX_BYTES } from '../../src/protocol/codec.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const connect = (url: string) => new TestClient(url, { protocols: ['lockstep.v1', 'lockstep.bearer.alice'] });

describe('message threadId and metadata', () => {
  it('reach the handler unchanged; the run carries the thread', async () => {
    const seen: Array<{ message: IncomingMessage; threadId: string | undefined }> = [];
    h = await startServer({
      handler: (message, run) => {
        seen.push({ message, threadId: run.threadId });
        return 'ok';
      },
    });
    const c = connect(h.url);
    await c.untilType('ready');
    const metadata = { attachments: [{ name: 'a.png', size: 12, tags: ['x', null, true] }], locale: 'de-CH', nested: { depth: { n: 1.5 } }, emoji: '😀' };
    c.send({ type: 'message', id: 'm1', text: 'hi', threadId: 't1', metadata });
    c.send({ type: 'message', id: 'm2', text: 'plain' });
    await c.until(() => eventsOf(c.frames).filter((e) => e.event === 'agent_completed').length === 2, 'both runs');
    expect(seen[0]).toEqual({ message: { type: 'message', id: 'm1', text: 'hi', threadId: 't1', metadata }, threadId: 't1' });
    expect(seen[1]).toEqual({ message: { type: 'message', id: 'm2', text: 'plain' }, threadId: undefined });
    const started = eventsOf(c.frames).filter((e) => e.event === 'agent_started');
    expect(started.map((e) => e.data)).toEqual([{ threadId: 't1' }, {}]);
    await c.close();
  });

  it('metadata over 16 KiB of JSON → LOCKSTEP_E_METADATA_TOO_LARGE with ref, no ack, no run; at the bound it is accepted', async () => {
    let runs = 0;
    h = await startServer({
      handler: () => {
        runs += 1;
        return 'ok';
      },
    });
    const c = connect(h.url);
    await c.untilType('ready');
    // {"p":"…"} is 8 bytes of JSON around the padding; 'é' is 2 UTF-8 bytes: the bound is in bytes.
    const fits = { p: 'é'.repeat((MESSAGE_METADATA_MAX_BYTES - 8) / 2) };
    const over = { p: 'é'.repeat((MESSAGE_METADATA_MAX_BYTES - 8) / 2) + 'x' };
    c.send({ type: 'message', id: 'big', text: 'x', metadata: over });
    c.send({ type: 'message', id: 'bad-thread', text: 'x', threadId: 7 });
    c.send({ type: 'message', id: 'fits', text: 'x', metadata: fits });
    await c.until(() => c.frames.some((f) => f.type === 'ack' && f.id === 'fits'), 'the ack of the message at the bound');
    await c.until(() => eventsOf(c.frames).some((e) => e.event === 'agent_completed'), 'its run');
    const errors = c.frames.filter((f) => f.type === 'error');
    expect(errors).toEqual([
      expect.objectContaining({ code: 'LOCKSTEP_E_METADATA_TOO_LARGE', ref: 'big' }),
      expect.objectContaining({ code: 'LOCKSTEP_E_BAD_FRAME', ref: 'bad-thread' }),
    ]);
    expect(c.frames.filter((f) => f.type === 'ack').map((f) => (f as { id: string }).id)).toEqual(['fits']);
    expect(runs).toBe(1);
    await c.close();
  });
});
