/**
 * WriteBatcher: the writes of one callback and of the promise chain it started reach the
 * stream as one writev, in order, before the next macrotask; later writes form the next
 * batch; a destroyed stream is left alone.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src/adapter/write-batching.js';

function recordingStream() {
  const calls: string[][] = [];
  const stream = new Writable({
    writev(chunks, callback) {
      calls.push(chunks.map((c) => String(c.chunk)));
      callback();
    },
    write(chunk, _encoding, callback) {
      calls.push([String(chunk)]);
      callback();
    },
  });
  return { stream, calls };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WriteBatcher', () => {
  it('flushes the writes of one turn as one writev, in order, then starts a new batch', async () => {
    const batcher = new WriteBatcher();
    const { stream, calls } = recordingStream();
    batcher.batch(stream);
    stream.write('ack');
    // Like a handler: written from promise continuations queued after the first write.
    const handler = (async () => {
      await null;
      batcher.batch(stream);
      stream.write('agent_started');
      await Promise.resolve();
      batcher.batch(stream);
      stream.write('agent_completed');
    })();
    expect(calls).toEqual([]);
    await handler;
    // Flushed by a tick once the microtask queue drained, before any macrotask.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(calls).toEqual([['ack', 'agent_started', 'agent_completed']]);
    batcher.batch(stream);
    stream.write('next');
    await nextTurn();
    expect(calls).toEqual([['ack', 'agent_started', 'agent_completed'], ['next']]);
    expect(stream.writableCorked).toBe(0);
  });

  it('batches several streams in the same turn and leaves destroyed streams alone', async () => {
    const batcher = new WriteBatcher();
    const a = recordingStream();
    const b = recordingStream();
    batcher.batch(a.stream);
    a.stream.write('a1');
    batcher.batch(b.stream);
    b.stream.write('b1');
    a.stream.write('a2');
    await nextTurn();
    expect(a.calls).toEqual([['a1', 'a2']]);
    expect(b.calls).toEqual([['b1']]);
    const gone = recordingStream();
    gone.stream.destroy();
    batcher.batch(gone.stream);
    expect(gone.stream.writableCorked).toBe(0);
  });
});
