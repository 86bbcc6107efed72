/**
 * Model-based testing over real sockets on loopback (fc.commands): tabs of two users open,
 * send messages, are terminated, resume with `?epoch&lastSeq`, read slowly, and the server is
 * shut down and replaced by another one over the same log — in any order fast-check picks.
 * The model is what each user's stream must contain; after every command a Jepsen-style
 * history check compares every tab's received events with it: lost, duplicated or reordered
 * events (I4, I5), an event of another user or with other content (I7), and live actors (I10).
 *
 * "Slow reader" pauses the client's socket while runs happen and resumes it later. Kernel
 * buffers absorb that much on loopback, so it does not reach `congested`: the machine's
 * congestion path is covered by the pure properties and test/integration/backpressure.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestClient } from '../integration/client.js';
import { eventsOf, startServer, type Harness } from '../integration/harness.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import { checkStreamHistory } from '../../src/testing/history-checker.js';
import type { EventFrame, ReadyFrame } from '../../src/protocol/frames.js';
import { realSocketRuns } from './real-socket-runs.js';
import type { MessageHandler } from '../../src/agent/handler.js';

const USERS = ['alice', 'bob'] as const;

interface Model {
  /** Events each user's stream holds. */
  lastSeq: Record<string, number>;
  tabs: Array<{ user: string; open: boolean; paused: boolean }>;
}

interface Tab {
  user: string;
  client: TestClient | undefined;
  /** Every event this tab received, across its connections. */
  history: EventFrame[];
  /** Where the tab's history starts (the user's lastSeq at its first connection). */
  start: number;
  epoch: string;
}

interface Real {
  log: MemoryEventLog;
  h: Harness;
  tabs: Tab[];
  messages: number;
}

/**
 * Each message's run streams its answer: agent_started, three text deltas, agent_completed (5
 * events, as the demo agent's), so resumes and catch-ups hand over coalesced deltas.
 */
const streamingHandler: MessageHandler = (message, run) => {
  for (const word of ['re: ', message.text, '.']) run.text(word);
  return {};
};
const serverOptions = (log: MemoryEventLog) => ({ eventLog: log, drainMs: 1_000, handler: streamingHandler });

/** The TCP socket under a client's ws: pausing it stops reading, as a slow client does. */
function tcpOf(tab: Tab): { pause(): void; resume(): void } {
  return (tab.client!.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

function lastSeen(tab: Tab): number {
  return tab.history.at(-1)?.seq ?? tab.start;
}

/** Waits (on socket events) until the tab has every event of its user, or its socket closed. */
function caughtUp(tab: Tab, model: Model): Promise<void> {
  const client = tab.client;
  if (client === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    void client.closed.then(() => resolve());
    client
      .until(() => {
        sync(tab);
        return lastSeen(tab) >= (model.lastSeq[tab.user] ?? 0);
      })
      .then(resolve, () => {});
  });
}

async function connect(real: Real, tab: Tab, resume: boolean): Promise<ReadyFrame> {
  const query = resume ? `?epoch=${tab.epoch}&lastSeq=${lastSeen(tab)}` : '';
  const client = new TestClient(`${real.h.url}${query}`, { protocols: ['lockstep.v1', `lockstep.bearer.${tab.user}`] });
  tab.client = client;
  await client.untilType('ready');
  return client.frames[0] as ReadyFrame;
}

/** Appends the events a connection received to the tab's history (called when it ends or settles). */
function collect(tab: Tab, from: TestClient, already: number): number {
  const events = eventsOf(from.frames).slice(already);
  tab.history.push(...events);
  return already + events.length;
}

// Each tab remembers how many of its current connection's events are already in its history.
const collected = new WeakMap<TestClient, number>();
function sync(tab: Tab): void {
  if (tab.client === undefined) return;
  collected.set(tab.client, collect(tab, tab.client, collected.get(tab.client) ?? 0));
}

function checkHistories(model: Model, real: Real): void {
  for (const [i, tab] of real.tabs.entries()) {
    sync(tab);
    const modelTab = model.tabs[i];
    const expectedLast = modelTab?.open && !modelTab.paused ? model.lastSeq[tab.user] : undefined;
    expect(checkStreamHistory(tab.history, tab.start, expectedLast), `tab ${i} (${tab.user}) history`).toEqual([]);
    // I7 and integrity: each event is exactly the one the user's stream holds at that seq; a
    // coalesced delta carries exactly the deltas stored at its seqs (I5 for ranges).
    const stream = real.log.readAfter(tab.user, 0) ?? [];
    for (const event of tab.history) {
      const { type: _type, ...stored } = event;
      if (event.fromSeq === undefined) {
        expect(stored, `tab ${i} (${tab.user}) seq ${event.seq}`).toEqual(stream[event.seq - 1]);
        continue;
      }
      const covered = stream.slice(event.fromSeq - 1, event.seq);
      expect(covered.every((e) => e.event === event.event && e.runId === event.runId), `tab ${i} seqs ${event.fromSeq}..${event.seq} are deltas of ${event.runId}`).toBe(true);
      expect((event.data as { delta: string }).delta, `tab ${i} (${tab.user}) seqs ${event.fromSeq}..${event.seq}`)
        .toBe(covered.map((e) => (e.data as { delta: string }).delta).join(''));
    }
  }
}

/** Tab commands pick among the tabs opened so far (modulo their number), so few are discarded. */
abstract class TabCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  protected index(m: Readonly<Model>): number {
    return this.pick % Math.max(1, m.tabs.length);
  }
  abstract check(m: Readonly<Model>): boolean;
  abstract run(m: Model, r: Real): Promise<void>;
}

class OpenTab implements fc.AsyncCommand<Model, Real> {
  constructor(readonly user: string) {}
  check = (m: Readonly<Model>) => m.tabs.length < 4;
  async run(m: Model, r: Real) {
    const tab: Tab = { user: this.user, client: undefined, history: [], start: m.lastSeq[this.user] ?? 0, epoch: '' };
    r.tabs.push(tab);
    const ready = await connect(r, tab, false);
    tab.epoch = ready.epoch;
    expect(ready.lastSeq).toBe(m.lastSeq[this.user]);
    m.tabs.push({ user: this.user, open: true, paused: false });
    checkHistories(m, r);
  }
  toString = () => `open(${this.user})`;
}

class Send extends TabCommand {
  check = (m: Readonly<Model>) => m.tabs[this.index(m)]?.open === true && m.tabs[this.index(m)]?.paused === false;
  async run(m: Model, r: Real) {
    const t = this.index(m);
    const tab = r.tabs[t]!;
    const id = `msg-${r.messages++}`;
    tab.client!.send({ type: 'message', id, text: id });
    m.lastSeq[tab.user] = (m.lastSeq[tab.user] ?? 0) + 5;
    await Promise.all(r.tabs.filter((t, i) => t.user === tab.user && m.tabs[i]?.open && !m.tabs[i]?.paused).map((t) => caughtUp(t, m)));
    checkHistories(m, r);
  }
  override toString = () => `send(${this.pick})`;
}

class Terminate extends TabCommand {
  check = (m: Readonly<Model>) => m.tabs[this.index(m)]?.open === true;
  async run(m: Model, r: Real) {
    const t = this.index(m);
    const tab = r.tabs[t]!;
    const client = tab.client!;
    client.ws.terminate();
    await client.closed;
    sync(tab);
    tab.client = undefined;
    m.tabs[t] = { ...m.tabs[t]!, open: false, paused: false };
    checkHistories(m, r);
  }
  override toString = () => `terminate(${this.pick})`;
}

class Resume extends TabCommand {
  check = (m: Readonly<Model>) => m.tabs[this.index(m)]?.open === false;
  async run(m: Model, r: Real) {
    const t = this.index(m);
    const tab = r.tabs[t]!;
    const ready = await connect(r, tab, true);
    // Retention is far larger than any run here: a resume must always be complete (I5).
    expect(ready).toMatchObject({ resumed: true, lastSeq: m.lastSeq[tab.user] });
    m.tabs[t] = { ...m.tabs[t]!, open: true };
    await caughtUp(tab, m);
    checkHistories(m, r);
  }
  override toString = () => `resume(${this.pick})`;
}

class PauseReading extends TabCommand {
  check = (m: Readonly<Model>) => m.tabs[this.index(m)]?.open === true && m.tabs[this.index(m)]?.paused === false;
  async run(m: Model, r: Real) {
    const t = this.index(m);
    tcpOf(r.tabs[t]!).pause();
    m.tabs[t] = { ...m.tabs[t]!, paused: true };
    checkHistories(m, r);
  }
  override toString = () => `pauseReading(${this.pick})`;
}

class ResumeReading extends TabCommand {
  check = (m: Readonly<Model>) => m.tabs[this.index(m)]?.open === true && m.tabs[this.index(m)]?.paused === true;
  async run(m: Model, r: Real) {
    const t = this.index(m);
    const tab = r.tabs[t]!;
    tcpOf(tab).resume();
    m.tabs[t] = { ...m.tabs[t]!, paused: false };
    await caughtUp(tab, m);
    checkHistories(m, r);
  }
  override toString = () => `resumeReading(${this.pick})`;
}

class RestartServer implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    // Paused readers cannot answer the close handshake; let them read what is left first.
    for (const [i, tab] of r.tabs.entries()) {
      if (m.tabs[i]?.paused) tcpOf(tab).resume();
    }
    await r.h.server.close();
    for (const [i, tab] of r.tabs.entries()) {
      if (tab.client !== undefined) {
        const { code } = await tab.client.closed;
        expect(code).toBe(1001);
        sync(tab);
        tab.client = undefined;
      }
      m.tabs[i] = { ...m.tabs[i]!, open: false, paused: false };
    }
    expect(r.h.server.liveConnections).toBe(0);
    r.h = await startServer(serverOptions(r.log));
    checkHistories(m, r);
  }
  toString = () => 'restartServer()';
}

const tabIndex = fc.nat(3);
const commands = [
  fc.constantFrom(...USERS).map((u) => new OpenTab(u)),
  tabIndex.map((t) => new Send(t)),
  tabIndex.map((t) => new Send(t)),
  tabIndex.map((t) => new Terminate(t)),
  tabIndex.map((t) => new Resume(t)),
  tabIndex.map((t) => new PauseReading(t)),
  tabIndex.map((t) => new ResumeReading(t)),
  fc.constant(new RestartServer()),
];

describe('I4, I5, I7, I10 over real sockets (model-based)', () => {
  it('every tab sees its user’s stream exactly, whatever happens to sockets and servers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 16, size: 'large' }), async (cmds) => {
        const log = new MemoryEventLog({ retainEvents: 10_000 });
        const real: Real = { log, h: await startServer(serverOptions(log)), tabs: [], messages: 0 };
        const model: Model = { lastSeq: Object.fromEntries(USERS.map((u) => [u, 0])), tabs: [] };
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          // Finally every tab resumes and must hold the complete stream of its user.
          for (const [i, tab] of real.tabs.entries()) {
            if (model.tabs[i]?.paused) tcpOf(tab).resume();
            if (!model.tabs[i]?.open) await connect(real, tab, true);
            model.tabs[i] = { user: tab.user, open: true, paused: false };
            await caughtUp(tab, model);
          }
          checkHistories(model, real);
        } finally {
          for (const tab of real.tabs) tab.client?.ws.terminate();
          await real.h.server.close();
        }
        expect(real.h.server.liveConnections).toBe(0);
      }),
      // A run that hangs (an event that never comes) fails and shrinks instead of timing out the file.
      { numRuns: realSocketRuns(30), timeout: 10_000, endOnFailure: process.env.FC_END_ON_FAILURE === "1" },
    );
  });
});
