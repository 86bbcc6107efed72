/**
 * Where finished traces go: `<dir>/<connectionId>.json`, or the embedder's callback. File
 * writes are asynchronous and tracked, so `server.close()` can wait until every trace of a
 * closed connection is on disk. A failed write is logged; it never affects a connection.
 */
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../server/logger.js';
import type { ConnectionTrace } from './format.js';

export interface TraceSink {
  write(trace: ConnectionTrace): void;
  /** Resolves once every trace handed to `write` so far is written (or failed and logged). */
  flushed(): Promise<void>;
}

export function traceSink(target: { dir: string } | ((trace: ConnectionTrace) => void), logger: Logger): TraceSink {
  if (typeof target === 'function') {
    return {
      write(trace) {
        try {
          target(trace);
        } catch (error) {
          logger.warn({ connectionId: trace.connectionId, err: String(error) }, 'record callback threw; trace dropped');
        }
      },
      flushed: () => Promise.resolve(),
    };
  }
  // Created up front, so a directory that cannot be created fails at server creation.
  mkdirSync(target.dir, { recursive: true });
  const writes = new Set<Promise<void>>();
  return {
    write(trace) {
      const file = join(target.dir, `${trace.connectionId}.json`);
      const write = writeFile(file, `${JSON.stringify(trace, null, 2)}\n`).then(
        () => undefined,
        (error: unknown) => logger.warn({ connectionId: trace.connectionId, file, err: String(error) }, 'trace not written'),
      );
      writes.add(write);
      void write.finally(() => writes.delete(write));
    },
    flushed: async () => {
      while (writes.size > 0) await Promise.all([...writes]);
    },
  };
}
