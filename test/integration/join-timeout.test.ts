/**
 * Issue 14 item 6: a connection whose stream join is never answered (a frozen or partitioned
 * Redis) does not sit in `joining` forever: at `limits.joinTimeoutMs` it is closed 1013
 * `stream join timeout`, its held messages never reach the handler, and other users are
 * served meanwhile. Real sockets on loopback; the event log is in memory except that the
 * frozen user's reads never answer (what a SIGSTOPped Redis does to them).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventLog, type EventLog, type NewStreamEvent } from '../../src/delivery/event-log.js';
import { within } from '../support/within.js';
import { TestClient } from './client.js';
import { startServer, type Harness } from './harness.js';

/** An in-memory log whose reads for `frozen` never settle. */
class FrozenForOneUser implements EventLog {
  readonly #memory = new MemoryEventLog();
  get epoch(): string {
    return this.#memory.epoch;
  }
  append(userId: string, event: NewStreamEvent) {
    return this.#memory.append(userId, event);
  }
  lastSeq(userId: string): number | Promise<number> {
    return userId === 'frozen' ? new Promise<number>(() => {}) : this.#memory.lastSeq(userId);
  }
  readAfter(userId: string, afterSeq: number) {
    return this.#memory.readAfter(userId, afterSeq);
  }
  recordMessage(userId: string, messageId: string, runId: string) {
    return this.#memory.recordMessage(userId, messageId, runId);
  }
}

describe('joining has a bound (joinTimeoutMs)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
  });

  it('closes 1013 "stream join timeout" and never runs its held message; another user is served meanwhile', async () => {
    const handled: string[] = [];
    h = await startServer({
      eventLog: new FrozenForOneUser(),
      limits: { joinTimeoutMs: 300 },
      handler: (message, run) => {
        handled.push(message.id);
        run.complete({ ok: true });
      },
    });
    const frozen = new TestClient(h.url, { headers: { authorization: 'Bearer frozen' } });
    await within(frozen.opened, 5_000, 'the frozen user\'s socket to open');
    frozen.send({ type: 'message', id: 'held', text: 'hi' });

    const bystander = new TestClient(h.url, { headers: { authorization: 'Bearer alice' } });
    await within(bystander.untilType('ready'), 5_000, 'the bystander\'s ready frame');
    bystander.send({ type: 'message', id: 'b1', text: 'hi' });
    await within(bystander.until(() => bystander.frames.some((f) => f.type === 'event' && f.event === 'agent_completed')), 5_000, 'the bystander\'s run');

    const closed = await within(frozen.closed, 5_000, 'the frozen user\'s close');
    expect(closed).toEqual({ code: 1013, reason: 'stream join timeout' });
    expect(frozen.frames).toEqual([]);
    expect(handled).toEqual(['b1']);
  });
});
