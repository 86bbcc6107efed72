/**
 * A bystander that survives its connection being closed: the client side of docs/protocol.md's
 * resume rules, kept small. It sends messages one at a time and waits for each run; when its
 * socket closes it reconnects with `?epoch&lastSeq`:
 * - `1013` (the backend, here Redis, is not ready): retry later, a bounded number of times;
 * - `resumed:true`: the missed events were replayed, continue;
 * - `resumed:false reason:"epoch"`: the log started a new history, of which this client has
 *   seen nothing — so it reads that history from its start (`?epoch=<new>&lastSeq=0`), which
 *   holds the runs of messages acked across the restart;
 * then resends the message it was waiting for, with the same id (exactly-once: an id the log
 * still knows is acked `duplicate:true` with its original run and starts nothing).
 * Every event it saw is kept per epoch, so a test can check nothing acked was lost.
 */
import { TestClient } from '../integration/client.js';
import type { AckFrame, EventFrame, ReadyFrame } from '../../src/protocol/frames.js';
import { within } from './attack-harness.js';

/** Between reconnects refused with 1013 ("try again later"): the client's retry policy, not an ordering fix. */
const RETRY_AFTER_1013_MS = 100;
const MAX_RECONNECTS = 100;

export class ResumingBystander {
  /** Every ready frame, in order (the first is the initial connection's). */
  readonly readies: ReadyFrame[] = [];
  /** Close codes of the bystander's connections that the server closed. */
  readonly serverCloses: number[] = [];
  /** Message id → the run the server acked it with. */
  readonly acks = new Map<string, string>();
  /** Epoch → seq → event, across all connections of that epoch. */
  readonly events = new Map<string, Map<number, EventFrame>>();
  #client: TestClient | undefined;
  /** Moves the current connection's new frames into acks/events (called from every wait's test). */
  #drain: () => void = () => {};
  #epoch = '';
  #lastSeq = 0;

  constructor(readonly wsUrl: string, readonly user: string) {}

  async connect(): Promise<void> {
    await this.#open(this.wsUrl);
  }

  /** Sends `id` and waits until its run completed, recovering (and resending) across closes. */
  async roundTrip(id: string, text = `question ${id}`): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const client = this.#client!;
      client.send({ type: 'message', id, text });
      try {
        await within(client.until(() => this.#runCompleted(id), `the run of ${id}`), 15_000, `${this.user}: the run of ${id}`);
        return;
      } catch (error) {
        if (client.ws.readyState === client.ws.OPEN) throw error;
        this.serverCloses.push((await client.closed).code);
        await this.#recover();
        if (this.#runCompleted(id)) return; // the replay held its whole run
      }
    }
    throw new Error(`${this.user}: ${id} did not complete within 3 connections`);
  }

  async close(): Promise<void> {
    await within(this.#client!.close(), 5_000, `${this.user} close`);
  }

  /** Reconnects with the cursor; after an epoch change, reads the new history from its start. */
  async #recover(): Promise<void> {
    for (let attempt = 0; attempt < MAX_RECONNECTS; attempt += 1) {
      const ready = await this.#open(`${this.wsUrl}?epoch=${this.#epoch}&lastSeq=${this.#lastSeq}`);
      if (ready === undefined) {
        await new Promise<void>((resolve) => setTimeout(resolve, RETRY_AFTER_1013_MS));
        continue;
      }
      if (ready.resumed || ready.reason !== 'epoch') return;
      // Nothing of the new history was seen: read all of it (the cursor is only valid in its epoch).
      await this.close();
      const fromStart = await this.#open(`${this.wsUrl}?epoch=${ready.epoch}&lastSeq=0`);
      if (fromStart?.resumed !== true) throw new Error(`${this.user}: reading the new epoch from its start was refused: ${JSON.stringify(fromStart)}`);
      return;
    }
    throw new Error(`${this.user}: no connection after ${MAX_RECONNECTS} attempts`);
  }

  /** One connection; its ready frame, or undefined when the server closed it 1013 before ready. */
  async #open(url: string): Promise<ReadyFrame | undefined> {
    const client = new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${this.user}`] });
    const outcome = await within(
      Promise.race([client.untilType('ready').then(() => 'ready' as const), client.closed.then((c) => c.code)]),
      10_000,
      `${this.user}: ready or a close`,
    ).catch((error: unknown) => {
      client.ws.terminate();
      throw error;
    });
    if (outcome !== 'ready') {
      if (outcome === 1013) return undefined;
      throw new Error(`${this.user}: connection closed ${outcome} before ready`);
    }
    const ready = client.frames[0] as ReadyFrame;
    this.readies.push(ready);
    this.#client = client;
    this.#epoch = ready.epoch;
    this.#lastSeq = ready.lastSeq;
    let expected: number | undefined;
    let handled = 1; // the ready frame
    const seen = this.events.get(ready.epoch) ?? new Map<number, EventFrame>();
    this.events.set(ready.epoch, seen);
    this.#drain = () => {
      for (; handled < client.frames.length; handled += 1) this.#handle(client.frames[handled]!, seen, (seq) => {
        // I4 per connection: consecutive seqs from its first (replayed or live) event.
        if (expected !== undefined && seq !== expected) throw new Error(`${this.user}: seq ${seq} after ${expected - 1} on one connection`);
        expected = seq + 1;
      });
    };
    this.#drain();
    return ready;
  }

  #handle(frame: { type: string }, seen: Map<number, EventFrame>, checkSeq: (seq: number) => void): void {
    if (frame.type === 'ack') {
      const ack = frame as AckFrame;
      const earlier = this.acks.get(ack.id);
      if (earlier !== undefined && earlier !== ack.runId) throw new Error(`${this.user}: ${ack.id} acked with ${earlier} and ${ack.runId}`);
      this.acks.set(ack.id, ack.runId);
    }
    if (frame.type !== 'event') return;
    const event = frame as EventFrame;
    checkSeq(event.seq);
    const before = seen.get(event.seq);
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(event)) throw new Error(`${this.user}: seq ${event.seq} seen as two events`);
    seen.set(event.seq, event);
    this.#lastSeq = Math.max(this.#lastSeq, event.seq);
  }

  /** The run of message `id` as seen, in seq order within the epoch that holds it. */
  runOf(id: string): EventFrame[] {
    const runId = this.acks.get(id);
    if (runId === undefined) return [];
    for (const seen of this.events.values()) {
      const run = [...seen.values()].filter((e) => e.runId === runId).sort((a, b) => a.seq - b.seq);
      if (run.length > 0) return run;
    }
    return [];
  }

  #runCompleted(id: string): boolean {
    this.#drain();
    const run = this.runOf(id);
    return run[0]?.event === 'agent_started' && run.at(-1)?.event === 'agent_completed';
  }
}
