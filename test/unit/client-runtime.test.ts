/**
 * createLockstepClient's runtime with a hand-driven WebSocket stand-in and SimulatedClock:
 * option checks, send() stored before it returns, the same id on re-send, a reload over the
 * same storage, another user's stored state, storage failures and API misuse — each with its
 * LOCKSTEP_ERR_* code.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createLockstepClient, memoryStorage, type ClientStorage, type LockstepClientOptions, type WebSocketLike } from '../../src/client/index.js';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  sent: Array<{ type: string; id?: string }> = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  constructor(readonly url: string, readonly protocols: string[]) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const ready = (over: Record<string, unknown> = {}) => ({ type: 'ready', userId: 'alice', connectionId: 'c', epoch: 'e1', lastSeq: 0, resumed: false, ...over });

function client(options: Partial<LockstepClientOptions> = {}) {
  FakeSocket.all = [];
  const clock = new SimulatedClock();
  let n = 0;
  const c = createLockstepClient({ url: 'ws://h/ws', token: 'alice', WebSocket: FakeSocket, clock, newMessageId: () => `m${n++}`, backoff: { baseMs: 100 }, ...options });
  return { c, clock, socket: () => FakeSocket.all.at(-1)! };
}

describe('createLockstepClient: options', () => {
  it('refuses a bad url, a missing token and a missing WebSocket with LOCKSTEP_ERR_INVALID_OPTION', () => {
    expect(() => createLockstepClient({ url: 'http://h/ws', token: 't', WebSocket: FakeSocket })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION', message: expect.stringMatching(/ws:\/\/ or wss:\/\//) }));
    expect(() => createLockstepClient({ url: 'not a url', token: 't', WebSocket: FakeSocket })).toThrow(/absolute ws/);
    expect(() => createLockstepClient({ url: 'ws://h/ws', WebSocket: FakeSocket })).toThrow(/token or a getToken/);
    expect(() => createLockstepClient({ url: 'ws://h/ws', token: 't', WebSocket: FakeSocket, maxOutboxBytes: 0 })).toThrow(/maxOutboxBytes must be a positive integer/);
    const hasGlobal = 'WebSocket' in globalThis;
    if (!hasGlobal) expect(() => createLockstepClient({ url: 'ws://h/ws', token: 't' })).toThrow(/pass WebSocket/);
  });
});

describe('createLockstepClient: outbox and resume', () => {
  it('offers the subprotocols, sends nothing before ready, stores a message before send() returns', () => {
    const storage = memoryStorage();
    const { c, socket } = client({ storage });
    expect(socket().protocols).toEqual(['lockstep.v1', 'lockstep.bearer.alice']);
    const id = c.send('hi', { threadId: 't1', metadata: { k: 1 } });
    expect(id).toBe('m0');
    expect(JSON.parse(storage.getItem('lockstep.client')!).outbox).toEqual([expect.objectContaining({ id: 'm0', text: 'hi', threadId: 't1' })]);
    socket().open();
    expect(socket().sent).toEqual([]);
    socket().frame(ready());
    expect(socket().sent).toEqual([{ type: 'message', id: 'm0', text: 'hi', threadId: 't1', metadata: { k: 1 } }]);
    socket().frame({ type: 'ack', id: 'm0', runId: 'c.1' });
    expect(c.outbox).toEqual([]);
    expect(c.runs[0]).toMatchObject({ runId: 'c.1', messageId: 'm0', threadId: 't1', metadata: { k: 1 } });
  });

  it('re-sends an unacked message with the same id after a reconnect, resuming from the last applied seq', () => {
    const { c, clock, socket } = client();
    socket().open();
    socket().frame(ready({ lastSeq: 4 }));
    c.send('hi');
    socket().frame({ type: 'event', seq: 5, runId: 'push.1', event: 'agent_started', data: {}, ts: 0 });
    socket().drop();
    clock.increment(100);
    expect(socket().url).toBe('ws://h/ws?epoch=e1&lastSeq=5');
    socket().open();
    socket().frame(ready({ lastSeq: 5, resumed: true }));
    expect(socket().sent).toEqual([{ type: 'message', id: 'm0', text: 'hi' }]);
  });

  it('a new client over the same storage (a reload) has the runs, the outbox and the resume point', () => {
    const storage = memoryStorage();
    const first = client({ storage });
    first.socket().open();
    first.socket().frame(ready());
    first.socket().frame({ type: 'event', seq: 1, runId: 'push.1', event: 'agent_started', data: {}, ts: 0 });
    first.c.send('later');
    first.c.close();
    expect(first.socket().closedWith).toEqual([1000, 'client closed']);
    expect(() => first.c.send('too late')).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_CLIENT_CLOSED' }));

    const second = client({ storage });
    expect(second.socket().url).toBe('ws://h/ws?epoch=e1&lastSeq=1');
    expect(second.c.runs.map((r) => r.runId)).toEqual(['push.1']);
    expect(second.c.outbox.map((e) => e.id)).toEqual(['m0']);
  });

  it('a refused resume interrupts the open runs and reports what may be missing', () => {
    const { c, clock, socket } = client();
    const missed: unknown[] = [];
    c.on('missed', (m) => missed.push(m));
    socket().open();
    socket().frame(ready());
    socket().frame({ type: 'event', seq: 1, runId: 'c.1', event: 'agent_started', data: {}, ts: 0 });
    socket().drop(1001, 'server shutting down');
    clock.increment(100);
    socket().open();
    socket().frame(ready({ epoch: 'e2', lastSeq: 3, reason: 'epoch' }));
    expect(c.runs[0]).toMatchObject({ status: 'interrupted', incomplete: true });
    expect(missed).toEqual([{ reason: 'epoch', epoch: 'e1', afterSeq: 1, liveEpoch: 'e2', liveFromSeq: 3, interruptedRuns: ['c.1'] }]);
    expect(c.getSnapshot().resumePoint).toEqual({ epoch: 'e2', lastSeq: 3 });
  });

  it('stored state of another user is dropped (its messages are not sent as this user)', () => {
    const storage = memoryStorage();
    const first = client({ storage });
    first.socket().open();
    first.socket().frame(ready({ userId: 'bob' }));
    first.c.send("bob's message");
    first.c.close();
    const second = client({ storage });
    const discarded: unknown[] = [];
    second.c.on('discarded', (d) => discarded.push(d));
    second.socket().open();
    second.socket().frame(ready());
    expect(second.socket().sent).toEqual([]);
    expect(discarded).toEqual([expect.objectContaining({ messages: [expect.objectContaining({ text: "bob's message" })] })]);
  });

  it('a storage that refuses the write: send() throws LOCKSTEP_ERR_STORAGE_FAILED and keeps nothing', () => {
    const full: ClientStorage = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); }, removeItem: () => {} };
    const { c } = client({ storage: full });
    expect(() => c.send('hi')).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_STORAGE_FAILED' }));
    expect(c.outbox).toEqual([]);
  });

  it('state events and snapshot subscriptions follow the machine', () => {
    const { c, socket } = client();
    const states: string[] = [];
    let changes = 0;
    c.on('state', (s) => states.push(s.state));
    c.subscribe(() => changes++);
    socket().open();
    socket().frame(ready());
    expect(states).toEqual(['authenticating', 'ready']);
    expect(c.getSnapshot()).toBe(c.getSnapshot());
    expect(changes).toBeGreaterThan(0);
    socket().frame('not json' as unknown);
  });
});

describe('createLockstepClient: cancel(runId)', () => {
  it('sends {type:"cancel",runId} only while ready (false offline, nothing stored); refuses misuse with LOCKSTEP_ERR_*', () => {
    const storage = memoryStorage();
    const { c, clock, socket } = client({ storage });
    expect(c.cancel('c.1')).toBe(false);
    socket().open();
    expect(c.cancel('c.1')).toBe(false);
    socket().frame(ready());
    expect(socket().sent).toEqual([]);
    expect(c.cancel('c.1')).toBe(true);
    expect(socket().sent).toEqual([{ type: 'cancel', runId: 'c.1' }]);
    socket().drop();
    expect(c.cancel('c.1')).toBe(false);
    clock.increment(100);
    socket().open();
    socket().frame(ready({ resumed: true }));
    // Not stored, so not re-sent after the reconnect: the run may have ended meanwhile.
    expect(socket().sent).toEqual([]);
    expect(storage.getItem('lockstep.client')).not.toContain('cancel');
    expect(() => c.cancel('' as string)).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_ARGUMENT' }));
    expect(() => c.cancel(undefined as unknown as string)).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_ARGUMENT' }));
    c.close();
    expect(() => c.cancel('c.1')).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_CLIENT_CLOSED' }));
  });

  it('an error frame with ref = a known run surfaces as an error naming that run', () => {
    const { c, socket } = client();
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    socket().open();
    socket().frame(ready());
    socket().frame({ type: 'event', seq: 1, runId: 'c.1', event: 'agent_started', data: {}, ts: 0 });
    socket().frame({ type: 'error', code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', message: 'no open run', ref: 'c.1' });
    socket().frame({ type: 'error', code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', message: 'no open run', ref: 'unknown' });
    expect(errors).toEqual([
      { code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', message: 'no open run', ref: 'c.1', runId: 'c.1' },
      { code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE', message: 'no open run', ref: 'unknown' },
    ]);
  });
});
