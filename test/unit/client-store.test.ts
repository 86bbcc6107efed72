/**
 * The client's pure parts and storage: run assembly (src/client/run-book.ts), the stream
 * position and resume rules (stream-cursor.ts), the outbox bound, and the storage adapters
 * (memory, a real file in a temp directory, localStorage's absence in Node).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunBook, type StreamItem } from '../../src/client/run-book.js';
import { position, readyOutcome, resumeUrl } from '../../src/client/stream-cursor.js';
import { emptyState, ClientStore } from '../../src/client/client-store.js';
import { Outbox } from '../../src/client/outbox.js';
import { fileStorage } from '../../src/client/file-storage.js';
import { localStorageStorage, memoryStorage } from '../../src/client/storage.js';
import { LockstepError } from '../../src/protocol/errors.js';

const item = (seq: number, event: StreamItem['event'], data: unknown = {}, runId = 'r1'): StreamItem => ({ seq, runId, event, data, ts: 0 });

describe('run book: runs as state', () => {
  it('assembles a run from the five events of the demo agent', () => {
    const book = new RunBook([]);
    book.apply(item(1, 'agent_started'), 'e');
    book.apply(item(2, 'agent_thinking', { text: 'Reading.' }), 'e');
    book.apply(item(3, 'tool_executing', { tool: 'echo', input: { text: 'hi' }, toolCallId: 'r1.echo' }), 'e');
    expect(book.get('r1')).toMatchObject({ status: 'running', thinking: 'Reading.', toolCalls: [{ toolCallId: 'r1.echo', status: 'running' }] });
    book.apply(item(4, 'tool_completed', { tool: 'echo', output: { text: 'hi' }, toolCallId: 'r1.echo' }), 'e');
    const run = book.apply(item(5, 'agent_completed', { text: 'echo: hi' }), 'e');
    expect(run).toMatchObject({ status: 'completed', text: 'echo: hi', incomplete: false, toolCalls: [{ status: 'completed', output: { text: 'hi' } }] });
    expect(run.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a run first seen after its start is incomplete; open runs are interrupted on request, and come back if they go on', () => {
    const book = new RunBook([]);
    book.apply(item(7, 'agent_thinking'), 'e');
    expect(book.get('r1')?.incomplete).toBe(true);
    expect(book.interruptOpen()).toEqual(['r1']);
    expect(book.get('r1')?.status).toBe('interrupted');
    book.apply(item(8, 'agent_error', { reason: 'x' }), 'e');
    expect(book.get('r1')).toMatchObject({ status: 'failed', incomplete: true });
  });

  it('a duplicate ack for a run whose events were in a gap links it as interrupted', () => {
    const book = new RunBook([]);
    const run = book.link('c.1', { id: 'm1', text: 'hi', threadId: 't', metadata: { a: 1 } }, 'e', true);
    expect(run).toMatchObject({ messageId: 'm1', prompt: 'hi', threadId: 't', metadata: { a: 1 }, status: 'interrupted' });
  });

  it('is bounded: finished runs beyond retainRuns or retainRunBytes go first; an open run then drops its event list', () => {
    const book = new RunBook([], { retainRuns: 2, retainRunBytes: 5000 });
    for (let n = 0; n < 4; n++) {
      book.apply(item(2 * n + 1, 'agent_started', {}, `r${n}`), 'e');
      book.apply(item(2 * n + 2, 'agent_completed', {}, `r${n}`), 'e');
    }
    expect(book.runs.map((r) => r.runId)).toEqual(['r2', 'r3']);
    const big = 'x'.repeat(3000);
    book.apply(item(20, 'agent_started', {}, 'open'), 'e');
    book.apply(item(21, 'agent_thinking', { text: big }, 'open'), 'e');
    book.apply(item(22, 'agent_thinking', { text: big }, 'open'), 'e');
    const total = book.runs.reduce((sum, r) => sum + r.bytes, 0);
    expect(total).toBeLessThanOrEqual(5000 + 3100);
    expect(book.get('open')).toMatchObject({ status: 'running', eventsDropped: true, events: [] });
  });
});

describe('stream cursor', () => {
  it('places an item (or a range) after lastSeq: next, duplicate, gap', () => {
    expect(position(4, 5, 5)).toBe('next');
    expect(position(4, 4, 4)).toBe('duplicate');
    expect(position(4, 7, 7)).toBe('gap');
    expect(position(4, 3, 8)).toBe('next');
  });

  it('reads a ready frame against the stored point', () => {
    const state = { ...emptyState(), userId: 'u', epoch: 'e1', lastSeq: 4 };
    const ready = { type: 'ready', userId: 'u', connectionId: 'c', epoch: 'e1', lastSeq: 9, resumed: true } as const;
    expect(readyOutcome(emptyState(), ready)).toEqual({ kind: 'fresh' });
    expect(readyOutcome(state, ready)).toEqual({ kind: 'resumed' });
    expect(readyOutcome(state, { ...ready, resumed: false, reason: 'gap' })).toEqual({ kind: 'missed', reason: 'gap', epoch: 'e1', afterSeq: 4 });
    expect(readyOutcome(state, { ...ready, epoch: 'e2', resumed: false, reason: 'epoch' })).toEqual({ kind: 'missed', reason: 'epoch', epoch: 'e1', afterSeq: 4 });
    expect(readyOutcome(state, { ...ready, userId: 'v' })).toEqual({ kind: 'otherUser', storedUserId: 'u' });
    expect(resumeUrl('ws://h/ws', { epoch: 'e 1', lastSeq: 4 })).toBe('ws://h/ws?epoch=e+1&lastSeq=4');
    expect(resumeUrl('ws://h/ws', undefined)).toBe('ws://h/ws');
  });
});

describe('outbox', () => {
  it('keeps messages in order until acked, refuses a repeated id and what does not fit (LOCKSTEP_ERR_OUTBOX_FULL)', () => {
    const state = emptyState();
    const outbox = new Outbox(state, 200);
    outbox.add('a', 'one', undefined, undefined);
    outbox.add('b', 'two', undefined, undefined);
    expect(state.outbox.map((e) => e.id)).toEqual(['a', 'b']);
    expect(() => outbox.add('a', 'again', undefined, undefined)).toThrow(/already in the outbox/);
    expect(() => outbox.add('', 'x', undefined, undefined)).toThrow(LockstepError);
    const full = (() => {
      try {
        outbox.add('c', 'x'.repeat(200), undefined, undefined);
      } catch (error) {
        return error as LockstepError;
      }
    })();
    expect(full?.code).toBe('LOCKSTEP_ERR_OUTBOX_FULL');
    expect(outbox.remove('a')?.text).toBe('one');
    expect(state.outbox.map((e) => e.id)).toEqual(['b']);
  });

  it('holds at most maxOutboxMessages unacked messages (the server\'s message-id window): the next send is LOCKSTEP_ERR_OUTBOX_FULL until an ack', () => {
    const state = emptyState();
    const outbox = new Outbox(state, 1_000_000, 3);
    for (const id of ['a', 'b', 'c']) outbox.add(id, 'hi', undefined, undefined);
    expect(() => outbox.add('d', 'hi', undefined, undefined)).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_OUTBOX_FULL', message: expect.stringContaining('retainMessageIds') }));
    outbox.remove('a');
    outbox.add('d', 'hi', undefined, undefined);
    expect(state.outbox.map((e) => e.id)).toEqual(['b', 'c', 'd']);
  });
});

describe('storage adapters', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('a file per key, replaced atomically, read back by a new store (a reload in Node)', () => {
    dir = mkdtempSync(join(tmpdir(), 'lockstep-client-'));
    const storage = fileStorage(join(dir, 'state'), fs);
    const store = new ClientStore(storage, 'alice@chat/1');
    store.state.epoch = 'e';
    store.state.lastSeq = 3;
    store.save();
    expect(fs.readdirSync(join(dir, 'state'))).toEqual(['alice%40chat%2f1.json']);
    const reloaded = new ClientStore(fileStorage(join(dir, 'state'), fs), 'alice@chat/1');
    expect(reloaded.state).toMatchObject({ epoch: 'e', lastSeq: 3 });
    storage.removeItem('alice@chat/1');
    expect(storage.getItem('alice@chat/1')).toBeNull();
  });

  it('unreadable stored state is replaced by an empty one, and says why', () => {
    const storage = memoryStorage();
    storage.setItem('k', '{not json');
    expect(new ClientStore(storage, 'k')).toMatchObject({ discarded: 'stored client state is not JSON', state: emptyState() });
    storage.setItem('k', JSON.stringify({ version: 99 }));
    expect(new ClientStore(storage, 'k').discarded).toMatch(/unknown shape or version/);
  });

  it('localStorageStorage() without a localStorage (Node) throws LOCKSTEP_ERR_INVALID_OPTION', () => {
    expect(() => localStorageStorage()).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION' }));
    const fake = memoryStorage();
    expect(localStorageStorage(fake)).toBe(fake);
  });
});
