/**
 * Broken variants of lockstep's client, each a bug a reconnecting client plausibly has. The
 * composed property (test/properties/client-end-to-end.test.ts) must catch every one.
 */
import type { ClientParts } from '../../src/client/create-client.js';
import { RunBook } from '../../src/client/run-book.js';
import { resumeUrl } from '../../src/client/stream-cursor.js';

/** Re-sends an unacked message under a new id (the server cannot know it is the same message). */
export const resendsWithNewId: Partial<ClientParts> = {
  messageFrame: (entry, sends) => ({ type: 'message', id: sends === 0 ? entry.id : `${entry.id}.retry${sends}`, text: entry.text }),
};

/** Keeps the outbox in memory only: a reload forgets the messages not yet acked. */
export const forgetsOutboxOnReload: Partial<ClientParts> = {
  loaded: (state) => ({ ...state, outbox: [] }),
};

/** Asks to resume after the wrong seq (one past the last event it applied). */
export const resumesFromWrongSeq: Partial<ClientParts> = {
  resumeUrl: (url, point) => resumeUrl(url, point && { ...point, lastSeq: point.lastSeq + 1 }),
};

/** Leaves open runs as they were after a refused resume: "thinking" forever. */
export const marksNothingInterrupted: Partial<ClientParts> = {
  createRunBook: (runs, limits) =>
    new (class extends RunBook {
      override interruptOpen(): string[] {
        return [];
      }
    })(runs, limits),
};
