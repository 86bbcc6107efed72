/**
 * lockstep/client on real sockets: Node's `ws` as the injected WebSocket against in-process
 * servers on loopback. A message sent while the server is down runs exactly once when it comes
 * back (over the same log); a connection lost mid-run resumes without loss; a reload (a new
 * client over the same file storage) mid-run shows the whole run once; a restart over a new
 * log marks the open run interrupted and new runs work.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createLockstepClient, fileStorage, memoryStorage, type LockstepClient, type LockstepClientEvents } from '../../src/client/index.js';
import { createLockstepServer, type LockstepServer } from '../../src/server/create-server.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { MessageHandler } from '../../src/agent/handler.js';
import { deferred } from '../support/deferred.js';
import { within } from '../support/within.js';

const RUN = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];

/** The demo agent's five events, with a gate after `agent_thinking` the test may hold. */
function gatedAgent(calls: string[], gate?: Promise<void>): MessageHandler {
  return async (message, run) => {
    calls.push(message.id);
    run.thinking({ text: 'Reading the message.' });
    await gate;
    run.toolStarted(`${run.runId}.echo`, { tool: 'echo', input: { text: message.text } });
    run.toolCompleted(`${run.runId}.echo`, { tool: 'echo', output: { text: message.text } });
    return `echo: ${message.text}`;
  };
}

async function serve(port: number, eventLog: MemoryEventLog, handler: MessageHandler): Promise<{ server: LockstepServer; port: number; sockets: Socket[] }> {
  const server = createLockstepServer({ port, host: '127.0.0.1', auth: 'dev', eventLog, handler, drainMs: 200, closeGraceMs: 200 });
  const sockets: Socket[] = [];
  server.httpServer.prependListener('upgrade', (_req, socket: Socket) => sockets.push(socket));
  const address = await server.listen();
  return { server, port: address.port, sockets };
}

/** Waits (bounded) until the client's record satisfies `test`. */
function until(client: LockstepClient, test: () => boolean, what: string, ms = 5_000): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      if (test()) return resolve();
      const stop = client.subscribe(() => {
        if (test()) {
          stop();
          resolve();
        }
      });
    }),
    ms,
    what,
  );
}

function record(client: LockstepClient) {
  const events: LockstepClientEvents['event'][] = [];
  const missed: LockstepClientEvents['missed'][] = [];
  const readies: LockstepClientEvents['ready'][] = [];
  client.on('event', (e) => events.push(e));
  client.on('missed', (m) => missed.push(m));
  client.on('ready', (r) => readies.push(r));
  return { events, missed, readies };
}

const options = (url: string) => ({ url, token: 'dana', WebSocket, backoff: { baseMs: 20, maxMs: 100 } });

describe('lockstep/client over real sockets (ws)', () => {
  const servers: LockstepServer[] = [];
  const closing: Promise<void>[] = [];
  const clients: LockstepClient[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all([...servers.splice(0).map((s) => s.close()), ...closing.splice(0)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('a message sent while the server is down runs exactly once when it returns', async () => {
    const log = new MemoryEventLog();
    const calls: string[] = [];
    const first = await serve(0, log, gatedAgent(calls));
    servers.push(first.server);
    const client = createLockstepClient({ ...options(`ws://127.0.0.1:${first.port}/ws`), storage: memoryStorage() });
    clients.push(client);
    const seen = record(client);
    await until(client, () => client.state === 'ready', 'the first ready');

    await first.server.close();
    servers.splice(0);
    await until(client, () => client.state === 'reconnecting' || client.state === 'connecting', 'the client to notice the server is gone');
    const id = client.send('typed while the server is down');
    expect(client.outbox.map((e) => e.id)).toEqual([id]);

    // Back on the same port, over the same log (same epoch: the resume and the message ids hold).
    const second = await serve(first.port, log, gatedAgent(calls));
    servers.push(second.server);
    await until(client, () => client.runs.some((r) => r.messageId === id && r.status === 'completed'), 'the run of the offline message');

    expect(calls).toEqual([id]);
    expect(client.outbox).toEqual([]);
    expect(seen.readies.at(-1)).toMatchObject({ resumed: true, outcome: 'resumed' });
    expect(seen.events.map((e) => e.event)).toEqual(RUN);
    expect(seen.missed).toEqual([]);
    expect(client.runs.find((r) => r.messageId === id)).toMatchObject({ text: `echo: typed while the server is down`, incomplete: false });
  });

  it('a connection lost mid-run resumes without loss: every event once, in order', async () => {
    const log = new MemoryEventLog();
    const calls: string[] = [];
    const gate = deferred();
    const { server, port, sockets } = await serve(0, log, gatedAgent(calls, gate.promise));
    servers.push(server);
    const client = createLockstepClient(options(`ws://127.0.0.1:${port}/ws`));
    clients.push(client);
    const seen = record(client);
    const id = client.send('hello');
    await until(client, () => seen.events.length === 2, 'agent_started and agent_thinking');

    for (const socket of sockets) socket.destroy();
    await until(client, () => client.state !== 'ready', 'the client to see the drop');
    gate.resolve();
    await until(client, () => client.runs[0]?.status === 'completed', 'the rest of the run after the resume');

    expect(calls).toEqual([id]);
    expect(seen.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.events.map((e) => e.event)).toEqual(RUN);
    expect(seen.readies.map((r) => r.outcome)).toEqual(['fresh', 'resumed']);
    expect(client.runs).toHaveLength(1);
    expect(client.runs[0]!.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a streamed run missed while disconnected arrives coalesced after the resume: the same text and tool arguments, every seq covered once', async () => {
    const log = new MemoryEventLog();
    const gate = deferred();
    const text = Array.from({ length: 300 }, (_, i) => `w${i} `);
    const args = ['{"q":', '"lock', 'step"}'];
    const { server, port, sockets } = await serve(0, log, async (_message, run) => {
      for (const delta of text.slice(0, 10)) run.text(delta);
      await gate.promise;
      for (const delta of text.slice(10)) run.text(delta);
      run.toolStarted('t1', { tool: 'search' });
      for (const delta of args) run.toolArgs('t1', delta);
      run.toolCompleted('t1', { output: 'found' });
    });
    servers.push(server);
    const client = createLockstepClient(options(`ws://127.0.0.1:${port}/ws`));
    clients.push(client);
    const seen = record(client);
    client.send('stream please');
    await until(client, () => seen.events.length === 11, 'agent_started and ten deltas, live');
    for (const socket of sockets) socket.destroy();
    await until(client, () => client.state !== 'ready', 'the client to see the drop');
    // The rest is appended while the client is away: its resume receives it coalesced.
    gate.resolve();
    await until(client, () => client.runs[0]?.status === 'completed', 'the whole run after the resume');

    const run = client.runs[0]!;
    expect(run.text).toBe(text.join(''));
    expect(run.toolCalls).toEqual([expect.objectContaining({ toolCallId: 't1', status: 'completed', args: args.join('') })]);
    // Coverage: each frame starts right after the previous one's last seq, up to the log's end.
    let last = 0;
    for (const e of seen.events) {
      expect(e.fromSeq ?? e.seq, `frame ending at ${e.seq}`).toBe(last + 1);
      last = e.seq;
    }
    expect(last).toBe(1 + text.length + 1 + args.length + 1 + 1);
    expect(seen.events.some((e) => e.fromSeq !== undefined && e.seq > e.fromSeq), 'a coalesced frame').toBe(true);
    expect(seen.events.length).toBeLessThan(40);
    // The run keeps each item's range too: its events cover every seq of the run once.
    expect(run.events.map((e) => [e.fromSeq ?? e.seq, e.seq])).toEqual(seen.events.map((e) => [e.fromSeq ?? e.seq, e.seq]));
  });

  it('a reload mid-run (a new client over the same file storage) shows the whole run once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockstep-client-'));
    const log = new MemoryEventLog();
    const calls: string[] = [];
    const gate = deferred();
    const { server, port } = await serve(0, log, gatedAgent(calls, gate.promise));
    servers.push(server);
    const url = `ws://127.0.0.1:${port}/ws`;
    const before = createLockstepClient({ ...options(url), storage: fileStorage(dir, fs) });
    const id = before.send('survives a reload');
    await until(before, () => before.runs[0]?.events.length === 2, 'the run to start');
    before.close();

    gate.resolve();
    const after = createLockstepClient({ ...options(url), storage: fileStorage(dir, fs) });
    clients.push(after);
    expect(after.runs[0]).toMatchObject({ messageId: id, status: 'running' });
    const seen = record(after);
    await until(after, () => after.runs[0]?.status === 'completed', 'the run to complete after the reload');

    expect(calls).toEqual([id]);
    expect(after.runs).toHaveLength(1);
    expect(after.runs[0]!.events.map((e) => e.event)).toEqual(RUN);
    expect(seen.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(seen.missed).toEqual([]);
  });

  it('a restart over a new log marks the open run interrupted, says what may be missing, and new runs work', async () => {
    const calls: string[] = [];
    const first = await serve(0, new MemoryEventLog(), gatedAgent(calls, new Promise(() => {})));
    servers.push(first.server);
    const client = createLockstepClient(options(`ws://127.0.0.1:${first.port}/ws`));
    clients.push(client);
    const seen = record(client);
    client.send('left thinking');
    await until(client, () => client.runs[0]?.events.length === 2, 'the first run to be thinking');
    // A crash: every socket cut, the in-memory log gone with the process.
    for (const socket of first.sockets) socket.destroy();
    first.server.httpServer.close();
    servers.splice(0);
    closing.push(first.server.close());

    const second = await serve(first.port, new MemoryEventLog(), gatedAgent(calls));
    servers.push(second.server);
    await until(client, () => seen.missed.length === 1, 'the refused resume');
    expect(seen.missed[0]).toMatchObject({ reason: 'epoch', afterSeq: 2, interruptedRuns: [client.runs[0]!.runId] });
    expect(client.runs[0]!.status).toBe('interrupted');
    const id = client.send('after the restart');
    await until(client, () => client.runs.some((r) => r.messageId === id && r.status === 'completed'), 'a new run after the restart');
  });

  it('4401 token expired: getToken gives a new token, the client reconnects and resumes; a run in flight loses nothing', async () => {
    const calls: string[] = [];
    const gate = deferred();
    // Tokens look like `dana.<expiresAt>`; the first one expires 300 ms after it is issued.
    const server = createLockstepServer({
      port: 0,
      host: '127.0.0.1',
      handler: gatedAgent(calls, gate.promise),
      verifyToken: async (token) => {
        const [userId, expiresAt] = token.split('.');
        return { userId: userId!, expiresAt: Number(expiresAt) };
      },
    });
    servers.push(server);
    const { port } = await server.listen();
    const issued: string[] = [];
    const getToken = () => {
      const token = `dana.${Date.now() + (issued.length === 0 ? 300 : 60_000)}`;
      issued.push(token);
      return token;
    };
    const client = createLockstepClient({ url: `ws://127.0.0.1:${port}/ws`, getToken, WebSocket, backoff: { baseMs: 20, maxMs: 100 } });
    clients.push(client);
    const seen = record(client);
    const closes: Array<{ code: number; reason: string; willRetry: boolean }> = [];
    client.on('close', (c) => closes.push(c));
    const id = client.send('across a token refresh');
    await until(client, () => seen.events.length === 2, 'the run to start');
    await until(client, () => closes.length === 1, 'the server to close the expired token');
    expect(closes[0]).toEqual({ code: 4401, reason: 'token expired', willRetry: true });
    gate.resolve();
    await until(client, () => client.runs[0]?.status === 'completed', 'the run after the refresh');
    expect(issued).toHaveLength(2);
    expect(calls).toEqual([id]);
    expect(seen.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.readies.map((r) => r.outcome)).toEqual(['fresh', 'resumed']);
  });

  it('a token the WebSocket cannot carry (not a subprotocol token) is final: refused, with the reason', async () => {
    const client = createLockstepClient({ url: 'ws://127.0.0.1:9/ws', token: 'has space', WebSocket });
    clients.push(client);
    await until(client, () => client.state === 'refused', 'the client to give up');
    expect(client.getSnapshot().lastClose).toEqual({ code: 1002, reason: expect.stringMatching(/^WebSocket constructor threw: SyntaxError/) });
  });
  it('cancel(runId) mid-stream: the run ends cancelled, no more text arrives; cancelling it again is an error naming the run', async () => {
    const afterAbort: string[] = [];
    const handler: MessageHandler = async (message, run, context) => {
      if (message.text !== 'stream until stopped') return `echo: ${message.text}`;
      run.text('first words');
      await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      try {
        run.text(' after the stop');
      } catch (error) {
        afterAbort.push((error as { code?: string }).code ?? String(error));
      }
    };
    const { server, port } = await serve(0, new MemoryEventLog(), handler);
    servers.push(server);
    const client = createLockstepClient(options(`ws://127.0.0.1:${port}/ws`));
    clients.push(client);
    const errors: LockstepClientEvents['error'][] = [];
    client.on('error', (e) => errors.push(e));
    const id = client.send('stream until stopped');
    await until(client, () => client.runs.some((r) => r.messageId === id && r.text === 'first words'), 'the first delta of the run');
    const runId = client.runs.find((r) => r.messageId === id)!.runId;

    expect(client.cancel(runId)).toBe(true);
    await until(client, () => client.runs.find((r) => r.runId === runId)?.status === 'failed', 'the run to end cancelled');
    // A later run's whole stream arrives after anything the cancelled run could still have sent.
    const next = client.send('next');
    await until(client, () => client.runs.some((r) => r.messageId === next && r.status === 'completed'), 'the next run');

    const run = client.runs.find((r) => r.runId === runId)!;
    expect(run).toMatchObject({ status: 'failed', text: 'first words', result: { reason: 'cancelled' } });
    expect(run.events.map((e) => e.event)).toEqual(['agent_started', 'text_delta', 'agent_error']);
    expect(afterAbort).toEqual(['LOCKSTEP_ERR_EVENT_ORDER']);

    expect(client.cancel(runId)).toBe(true);
    await within(new Promise<void>((resolve) => client.on('error', () => resolve())), 5_000, 'the error for cancelling a finished run');
    expect(errors).toEqual([{ code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', message: expect.any(String), ref: runId, runId }]);
    expect(client.state).toBe('ready');
  });

  it('approve(): the pending approval shows in run.pendingApprovals, the answer resolves it, a second answer is an error naming the run; threadId and metadata reach the handler', async () => {
    const seen: Array<{ threadId?: string; metadata?: unknown }> = [];
    const handler: MessageHandler = async (message, run) => {
      seen.push({ threadId: message.threadId, metadata: message.metadata });
      run.toolStarted('t1', { tool: 'send_email' });
      const answer = await run.requestApproval('t1', { tool: 'send_email', args: { to: 'x@example.com' } });
      run.toolCompleted('t1', { sent: answer.approved, note: answer.data });
      return answer.approved ? 'sent' : 'not sent';
    };
    const { server, port } = await serve(0, new MemoryEventLog(), handler);
    servers.push(server);
    const client = createLockstepClient(options(`ws://127.0.0.1:${port}/ws`));
    clients.push(client);
    const errors: LockstepClientEvents['error'][] = [];
    client.on('error', (e) => errors.push(e));
    expect(() => client.send('x', { metadata: [1, 2] })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_ARGUMENT' }));
    const id = client.send('mail it', { threadId: 'th-1', metadata: { from: 'test' } });
    await until(client, () => client.runs.some((r) => r.messageId === id && r.pendingApprovals.length === 1), 'the approval request');
    const run = client.runs.find((r) => r.messageId === id)!;
    expect(run.pendingApprovals).toEqual([{ toolCallId: 't1', tool: 'send_email', args: { to: 'x@example.com' } }]);
    expect(seen).toEqual([{ threadId: 'th-1', metadata: { from: 'test' } }]);

    expect(client.approve(run.runId, 't1', true, { ok: 'go' })).toBe(true);
    await until(client, () => client.runs.find((r) => r.runId === run.runId)?.status === 'completed', 'the run completed after the answer');
    const done = client.runs.find((r) => r.runId === run.runId)!;
    expect(done.pendingApprovals).toEqual([]);
    expect(done.text).toBe('sent');
    expect(done.toolCalls[0]).toMatchObject({ toolCallId: 't1', status: 'completed' });

    expect(client.approve(run.runId, 't1', false)).toBe(true);
    await within(new Promise<void>((resolve) => client.on('error', () => resolve())), 5_000, 'the error for a second answer');
    expect(errors).toEqual([{ code: 'LOCKSTEP_E_APPROVAL_NOT_PENDING', message: expect.any(String), ref: run.runId, runId: run.runId }]);
  });
});

