/**
 * Issue 15, "Done when" 1, on real sockets: a run streams 5,000 text deltas (and a tool call's
 * arguments); a tab that dropped at delta 10 resumes after the run ended with `resumed:true`,
 * receives the rest as a few coalesced events covering every seq exactly once, and assembles
 * text identical to a tab that stayed — with the in-memory log, and with the Redis log against
 * a real redis-server. Default retention (1000 entries): one event per delta would be a gap.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer, type Harness } from './harness.js';
import { describeWithRedis, RedisProcess } from './redis/redis-harness.js';
import { MemoryEventLog, type EventLog } from '../../src/delivery/event-log.js';
import { RedisEventLog } from '../../src/delivery/redis-event-log.js';
import { checkStreamHistory } from '../../src/testing/history-checker.js';
import type { EventFrame, ReadyFrame } from '../../src/protocol/frames.js';
import type { MessageHandler } from '../../src/agent/handler.js';

const DELTAS = 5000;
const DROP_AT = 10;
const ARGS_DELTAS = 200;

/**
 * The i-th delta of the answer: words, JSON-hostile characters, non-ASCII, and every 97th
 * delta ends in the first half of a surrogate pair that the next one completes (a tokenizer
 * may split an emoji), so "byte-identical" is tested where an encoding would break it.
 */
function delta(i: number): string {
  if (i % 97 === 0) return `w${i} \ud83d`;
  if (i % 97 === 1 && i > 1) return '\ude00 ';
  return [`tok${i} `, 'quote" ', 'back\\slash ', 'line\n', 'tab\t', 'é ', '中文 ', '\u2028 '][i % 8] as string;
}

/** What a client assembles from the events it received: the answer's text and each tool call's arguments. */
function assemble(events: readonly EventFrame[]): { text: string; args: Record<string, string> } {
  let text = '';
  const args: Record<string, string> = {};
  for (const event of events) {
    const data = event.data as { delta?: string; toolCallId?: string };
    if (event.event === 'text_delta') text += data.delta;
    if (event.event === 'tool_args_delta') args[data.toolCallId ?? ''] = (args[data.toolCallId ?? ''] ?? '') + data.delta;
  }
  return { text, args };
}

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

/** The scenario, on a server over `eventLog`. */
async function streamDropAndResume(eventLog: EventLog): Promise<Harness> {
  const dropped = deferred();
  const handler: MessageHandler = async (_message, run) => {
    let i = 1;
    for (; i <= DROP_AT; i++) run.text(delta(i));
    await dropped.promise; // the second tab is gone now
    for (; i <= DELTAS / 2; i++) run.text(delta(i));
    run.toolStarted('t1', { tool: 'search' });
    for (let a = 0; a < ARGS_DELTAS; a++) run.toolArgs('t1', a === 0 ? '{"q":"' : a === ARGS_DELTAS - 1 ? '"}' : `p${a} \\"`);
    run.toolCompleted('t1', { output: 'ok' });
    for (; i <= DELTAS; i++) run.text(delta(i));
    return 'done';
  };
  const h = await startServer({ handler, eventLog });
  const stays = connect(h.url, 'alice');
  const drops = connect(h.url, 'alice');
  await stays.untilType('ready');
  await drops.untilType('ready');
  const { epoch } = stays.frames[0] as ReadyFrame;
  stays.send({ type: 'message', id: 'm1', text: 'stream' });
  const textDeltas = (client: TestClient) => eventsOf(client.frames).filter((e) => e.event === 'text_delta').length;
  await drops.until(() => textDeltas(drops) === DROP_AT, `${DROP_AT} text deltas on the tab that drops`);
  drops.ws.terminate();
  await drops.closed;
  const lastSeq = eventsOf(drops.frames).at(-1)!.seq;
  dropped.resolve();

  const isEnd = (e: EventFrame) => e.event === 'agent_completed';
  await stays.until(() => eventsOf(stays.frames).some(isEnd), 'the run to end on the tab that stayed');
  const live = eventsOf(stays.frames);
  const runEvents = 1 + DELTAS + 1 + ARGS_DELTAS + 1 + 1;
  expect(checkStreamHistory(live, 0, runEvents)).toEqual([]);
  expect(live).toHaveLength(runEvents); // live: one frame per delta

  const resumed = connect(`${h.url}?epoch=${epoch}&lastSeq=${lastSeq}`, 'alice');
  await resumed.untilType('ready');
  expect(resumed.frames[0]).toMatchObject({ type: 'ready', resumed: true, lastSeq: runEvents });
  await resumed.until(() => eventsOf(resumed.frames).some(isEnd), 'the replay up to agent_completed');
  const replay = eventsOf(resumed.frames);
  // Every seq after lastSeq exactly once, in order, range by range (I4/I5 for ranges).
  expect(checkStreamHistory(replay, lastSeq, runEvents)).toEqual([]);
  // Coalesced: the 4,990 text deltas and 200 argument deltas come as a handful of events.
  const coalesced = replay.filter((e) => e.fromSeq !== undefined);
  expect(coalesced.length).toBeGreaterThan(0);
  expect(replay.length).toBeLessThan(12);
  // The tab that resumed assembles exactly what the tab that stayed assembled.
  const before = assemble(eventsOf(drops.frames));
  const after = assemble(replay);
  const stayed = assemble(live);
  expect(before.text + after.text).toBe(stayed.text);
  expect(after.args).toEqual(stayed.args);
  expect(stayed.args.t1?.startsWith('{"q":"')).toBe(true);
  expect(stayed.text).toBe(Array.from({ length: DELTAS }, (_, k) => delta(k + 1)).join(''));
  await Promise.all([stays.close(), resumed.close()]);
  return h;
}

describe('streaming: a resume after 5,000 text deltas (in-memory log)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
  });

  it('the dropped tab resumes with resumed:true and coalesced deltas; its text is identical to the live tab\'s', async () => {
    const log = new MemoryEventLog();
    h = await streamDropAndResume(log);
  });
});

describe('streaming: the run machine checks every delta (I6)', () => {
  it('a tool-argument delta for a call that is not open is refused: it never reaches a client, the run ends with agent_error', async () => {
    const h = await startServer({
      handler: (_message, run) => {
        run.text('thinking…');
        run.toolStarted('t1');
        run.toolArgs('t1', '{}');
        run.toolCompleted('t1');
        run.toolArgs('t1', 'late'); // throws LOCKSTEP_ERR_EVENT_ORDER
        run.text('never sent');
      },
    });
    try {
      const c = connect(h.url, 'dave');
      await c.untilType('ready');
      c.send({ type: 'message', id: 'm', text: 'go' });
      await c.until(() => eventsOf(c.frames).some((e) => e.event === 'agent_error'), 'the run to end');
      const events = eventsOf(c.frames);
      expect(events.map((e) => e.event)).toEqual(['agent_started', 'text_delta', 'tool_executing', 'tool_args_delta', 'tool_completed', 'agent_error']);
      expect(events.at(-1)?.data).toMatchObject({ reason: 'handler_error', message: expect.stringContaining('cannot emit tool_args_delta(t1) in state thinking') });
      await c.close();
    } finally {
      await h.server.close();
    }
  });
});

describe('streaming: a congested tab catches up from the log with coalesced deltas', () => {
  it('the paused reader gets the deltas it missed coalesced, and assembles the same text as the tab that read', async () => {
    const COUNT = 600;
    const piece = (i: number) => `${String(i).padStart(5, '0')}${'abcdefgh'.repeat(2048)}`; // ~16 KiB each, ~10 MB in all
    const h = await startServer({
      eventLog: new MemoryEventLog({ retainBytesPerUser: 64 * 1024 * 1024 }),
      limits: { highWaterMarkBytes: 256 * 1024, maxLagEvents: 2 * COUNT },
      handler: (_message, run) => {
        for (let i = 0; i < COUNT; i++) run.text(piece(i));
        return 'done';
      },
    });
    try {
      const reads = connect(h.url, 'carol');
      const paused = connect(h.url, 'carol');
      await reads.untilType('ready');
      await paused.untilType('ready');
      paused.ws.pause(); // stops reading: the server's send buffer passes the high-water mark
      reads.send({ type: 'message', id: 'm', text: 'go' });
      const ended = (c: TestClient) => eventsOf(c.frames).some((e) => e.event === 'agent_completed');
      await reads.until(() => ended(reads), 'the run on the tab that reads');
      expect(h.trace.some((e) => e.state === 'ready.congested')).toBe(true);
      paused.ws.resume();
      await paused.until(() => ended(paused), 'the run on the tab that was paused');
      const caughtUp = eventsOf(paused.frames);
      expect(checkStreamHistory(caughtUp, 0, COUNT + 2)).toEqual([]);
      expect(caughtUp.some((e) => e.fromSeq !== undefined)).toBe(true);
      expect(assemble(caughtUp).text).toBe(assemble(eventsOf(reads.frames)).text);
      await Promise.all([reads.close(), paused.close()]);
    } finally {
      await h.server.close();
    }
  });
});

describeWithRedis('streaming: a resume after 5,000 text deltas (Redis log, real redis-server)', () => {
  let redis: RedisProcess;
  let client: Redis;
  let h: Harness | undefined;
  beforeAll(async () => {
    redis = await RedisProcess.start({ aof: false });
    client = new Redis(redis.url);
  });
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('the dropped tab resumes with resumed:true and coalesced deltas; its text is identical to the live tab\'s', async () => {
    const log = new RedisEventLog(client, { prefix: 'stream-resume:' });
    await log.refreshEpoch();
    h = await streamDropAndResume(log);
    // Stored compacted: the run's 5,203 events take a few entries, far below the 1000-entry bound.
    expect(await client.xlen(log.keys.stream('alice'))).toBeLessThan(20);
  });
});
