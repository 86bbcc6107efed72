/**
 * Where finished traces go: `<dir>/<connectionId>.json`, or the embedder's callback. File
 * writes are asynchronous and tracked, so `server.close()` can wait until every trace of a
 * closed connection is on disk. A failed write is logged; it never affects a connection.
 *
 * A trace is written in chunks (serializeTrace: one entry per line), awaiting each write, so a
 * big trace never becomes one giant string built in one synchronous turn: that blocked the
 * process for seconds and, past V8's string limit, threw `Invalid string length`. It goes to
 * `<connectionId>.json.partial` first and is renamed when complete, so a reader never sees half
 * a trace. The bytes the trace held of the server's budget are released once it is written.
 */
import { mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../server/logger.js';
import type { TraceBudget } from './budget.js';
import type { ConnectionTrace } from './format.js';

export interface TraceSink {
  /** Takes a finished trace and the bytes it holds of the budget (released once it is written). */
  write(trace: ConnectionTrace, heldBytes?: number): void;
  /** Resolves once every trace handed to `write` so far is written (or failed and logged). */
  flushed(): Promise<void>;
}

/** Characters gathered before one write: big enough to be few writes, small enough to yield often. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The trace as JSON text, in pieces: each top-level field on its own line, each entry and effect
 * on its own line. The pieces joined are exactly one JSON document that parses to `trace`.
 */
export function* serializeTrace(trace: ConnectionTrace): Generator<string> {
  const fields = Object.entries(trace);
  yield '{\n';
  for (const [index, [key, value]] of fields.entries()) {
    const comma = index < fields.length - 1 ? ',' : '';
    if (Array.isArray(value)) {
      if (value.length === 0) {
        yield `  ${JSON.stringify(key)}: []${comma}\n`;
        continue;
      }
      yield `  ${JSON.stringify(key)}: [\n`;
      for (const [i, item] of value.entries()) yield `    ${JSON.stringify(item)}${i < value.length - 1 ? ',' : ''}\n`;
      yield `  ]${comma}\n`;
    } else {
      yield `  ${JSON.stringify(key)}: ${JSON.stringify(value)}${comma}\n`;
    }
  }
  yield '}\n';
}

async function writeTraceFile(file: string, trace: ConnectionTrace): Promise<void> {
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w');
  try {
    let chunk = '';
    for (const piece of serializeTrace(trace)) {
      chunk += piece;
      if (chunk.length >= CHUNK_CHARS) {
        await handle.write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await handle.write(chunk);
  } catch (error) {
    await handle.close();
    await rm(partial, { force: true });
    throw error;
  }
  await handle.close();
  await rename(partial, file);
}

export function traceSink(
  target: { dir: string } | ((trace: ConnectionTrace) => void),
  logger: Logger,
  budget?: TraceBudget,
): TraceSink {
  const release = (bytes: number | undefined) => {
    if (bytes !== undefined) budget?.release(bytes);
  };
  if (typeof target === 'function') {
    return {
      write(trace, heldBytes) {
        try {
          target(trace);
        } catch (error) {
          logger.warn({ connectionId: trace.connectionId, err: String(error) }, 'record callback threw; trace dropped');
        } finally {
          // Handed over: what the callback keeps is the embedder's memory.
          release(heldBytes);
        }
      },
      flushed: () => Promise.resolve(),
    };
  }
  // Created up front, so a directory that cannot be created fails at server creation.
  mkdirSync(target.dir, { recursive: true });
  const writes = new Set<Promise<void>>();
  return {
    write(trace, heldBytes) {
      const file = join(target.dir, `${trace.connectionId}.json`);
      const write = writeTraceFile(file, trace).then(
        () => undefined,
        (error: unknown) => logger.warn({ connectionId: trace.connectionId, file, err: String(error) }, 'trace not written'),
      ).finally(() => release(heldBytes));
      writes.add(write);
      void write.finally(() => writes.delete(write));
    },
    flushed: async () => {
      while (writes.size > 0) await Promise.all([...writes]);
    },
  };
}
