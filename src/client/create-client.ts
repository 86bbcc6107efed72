/**
 * `createLockstepClient(options)`: the runtime around the client machine (machines/client.ts).
 * It opens the injected WebSocket, turns socket callbacks and server frames into the machine's
 * events, and performs the effects the machine names on the store (outbox, resume point, runs;
 * ./client-store.ts) — deciding nothing itself: when to connect, resend, give up or refresh the
 * token is the machine's; what a `ready` or an event means for the stored state is the pure
 * rules of ./stream-cursor.ts and ./run-book.ts.
 *
 * Controls: a control is a method here that stores nothing, sends one client frame through
 * `#sendFrame` while `ready` (a `client.<control>` event of the machine's `ready` state), and
 * whose answer is one more case of `decodeServerFrame` and of `applyItem`. `cancel(runId)` is
 * one; `approve(runId, toolCallId, approved, data?)` (frame `{"type":"approve",…}`, answering
 * an `approval_requested` event kept in `run.pendingApprovals`) is the next, the same way.
 */
import { createActor, fromPromise, type Actor, type AnyActorLogic } from 'xstate';

/** The timer source of the client machine (xstate's `Clock`; SimulatedClock fits). */
export interface ClientClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}
import { clientMachine, type ClientClose, type ClientMachine, type ClientStateName, type ClientTiming } from '../../machines/client.js';
import { LockstepError, type ErrorCode } from '../protocol/errors.js';
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL, type ApproveFrame, type CancelFrame, type EventFrame, type MessageFrame, type ReadyFrame, type ResumeFailure } from '../protocol/frames.js';
import { MESSAGE_METADATA_MAX_BYTES, THREAD_ID_MAX } from '../protocol/codec.js';
import { ClientStore, type OutboxEntry, type StoredClientState } from './client-store.js';
import { Outbox } from './outbox.js';
import { RunBook, type ClientRun, type RunBookLimits, type StreamItem } from './run-book.js';
import { decodeServerFrame } from './server-frames.js';
import { memoryStorage, type ClientStorage } from './storage.js';
import { position, readyOutcome, resumePoint, resumeUrl, type ReadyOutcome } from './stream-cursor.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the handlers' event types differ between the browser's WebSocket and ws; `any` lets both classes fit. */
/** The WebSocket the client uses: the browser's, or Node's `ws` (same event-handler API). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  /** `event.data`: the frame's text. */
  onmessage: ((event: any) => void) | null;
  /** `event.code`, `event.reason`: the close. */
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A WebSocket class: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

const OPEN = 1;

/** Each client actor's system → its runtime (the provided machine is shared). */
const runtimes = new WeakMap<object, ClientRuntime>();

/** Options of {@link createLockstepClient}. */
export interface LockstepClientOptions {
  /** The server's WebSocket URL, e.g. `wss://chat.example.com/ws`. */
  url: string;
  /** The token (sent as the `lockstep.bearer.<token>` subprotocol). Give `token`, `getToken`, or both. */
  token?: string;
  /** Fetches a token: before the first connect when `token` is absent, and after a 4401 (once per `ready`). */
  getToken?: () => string | Promise<string>;
  /** Where the outbox, resume point and runs survive a reload. Default: memory (lost with the process). */
  storage?: ClientStorage;
  /** The storage key (one per user and server if several share a storage). Default `lockstep.client`. */
  storageKey?: string;
  /** The WebSocket class. Default: `globalThis.WebSocket` (browsers, Node 22+); in Node 20 pass `ws`. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect timing (ms): `baseMs` 250, `maxMs` 10000, `openTimeoutMs` 30000, `rateLimitRetryMs` 1000. */
  backoff?: Partial<ClientTiming>;
  /** Bytes (JSON length) of unacked messages kept. Default 256 KiB; over it `send()` throws LOCKSTEP_ERR_OUTBOX_FULL. */
  maxOutboxBytes?: number;
  /**
   * Unacked messages kept. Default 1000, the server's default message-id window per user
   * (`retainMessageIds`): keep it at or below the server's, or a message resent after the
   * server forgot its id runs again. Over it `send()` throws LOCKSTEP_ERR_OUTBOX_FULL.
   */
  maxOutboxMessages?: number;
  /** Finished runs kept (default 100) and bytes of all runs kept (default 1 MiB). */
  retainRuns?: number;
  retainRunBytes?: number;
  /** The jitter's random source, a draw in [0, 1). Default Math.random. */
  random?: () => number;
  /** Message ids. Default `crypto.randomUUID()`. */
  newMessageId?: () => string;
  /** The machine's clock (tests pass xstate's SimulatedClock). Default: real timers. */
  clock?: ClientClock;
}

/** What may be missing, when the client could not continue its stream without a hole. */
export interface MissedReport {
  /** `epoch`/`gap`: the server refused the resume; `stream`: a seq was skipped on a live connection; `user`: stored state of another user was dropped. */
  reason: ResumeFailure | 'stream' | 'user';
  /** The epoch and the last seq the client had applied: events after it may be missing. */
  epoch: string | undefined;
  afterSeq: number | undefined;
  /** Where the client continues: live from after `liveFromSeq` of `liveEpoch`. */
  liveEpoch: string;
  liveFromSeq: number;
  /** Runs that were open and are now `interrupted` (their end may be in what was missed). */
  interruptedRuns: string[];
}

/**
 * An error reported to the app: a server error frame (`LOCKSTEP_E_*`), or a frame the client
 * could not read. `code` is one of lockstep's codes (docs/errors.md), or a newer server's code
 * this client does not know yet. `runId`: the error is about that run of `client.runs` (its
 * `ref` names it, e.g. `LOCKSTEP_E_RUN_NOT_CANCELLABLE` after `cancel(runId)`).
 */
export interface ClientErrorReport { code: ErrorCode | (string & {}); message: string; ref?: string; runId?: string }

/** The events of a client, by name. */
export interface LockstepClientEvents {
  state: { state: ClientStateName; previous: ClientStateName };
  ready: ReadyFrame & { outcome: ReadyOutcome['kind'] };
  ack: { id: string; runId: string; duplicate: boolean };
  /** Each event of the user's stream, once, in seq order (what the screen shows). */
  event: EventFrame;
  /** A run changed (new event, linked to its message, interrupted). */
  run: ClientRun;
  /** What may be missing; the open runs it names are now `interrupted`. */
  missed: MissedReport;
  error: ClientErrorReport;
  close: ClientClose & { willRetry: boolean };
  /** The stored state was not used (corrupt, another version, another user): these messages were dropped unsent. */
  discarded: { reason: string; messages: OutboxEntry[] };
}

/** Everything the app renders, as one immutable value (for React's useSyncExternalStore and the like). */
export interface ClientSnapshot {
  state: ClientStateName;
  userId: string | undefined;
  runs: readonly ClientRun[];
  outbox: readonly OutboxEntry[];
  resumePoint: { epoch: string; lastSeq: number } | undefined;
  lastClose: ClientClose | undefined;
}

/** A lockstep client: see {@link createLockstepClient}. */
export interface LockstepClient {
  readonly state: ClientStateName;
  readonly runs: readonly ClientRun[];
  readonly outbox: readonly OutboxEntry[];
  /** Stores the message and sends it (now if ready, else on the next `ready`) until acked; returns its id at once. */
  send(text: string, options?: { id?: string; threadId?: string; metadata?: unknown }): string;
  /**
   * Asks the server to stop a run (`{"type":"cancel","runId"}`): true when sent (the client is
   * `ready`), false when not connected — nothing is stored, since the run may have ended by the
   * time the connection returns; ask again on `ready`. The run then ends with `agent_error`
   * `{ reason: "cancelled" }`; a run that is not open on the server is answered with an `error`
   * event `LOCKSTEP_E_RUN_NOT_CANCELLABLE` whose `runId` (and `ref`) is this run.
   */
  cancel(runId: string): boolean;
  /**
   * Answers an approval the server asked for (`approval_requested`, kept in the run's
   * `pendingApprovals`): `{"type":"approve","runId","toolCallId","approved","data"?}`. True when
   * sent, false when not connected (nothing is stored: answer again on `ready`, if it is still
   * pending). The first answer of any tab wins: the run gets `approval_resolved`; a later one is
   * answered with an `error` event `LOCKSTEP_E_APPROVAL_NOT_PENDING` naming the run.
   */
  approve(runId: string, toolCallId: string, approved: boolean, data?: unknown): boolean;
  /** Closes the socket with 1000 and stops reconnecting; the outbox stays stored. Idempotent. */
  close(): void;
  on<K extends keyof LockstepClientEvents>(type: K, listener: (event: LockstepClientEvents[K]) => void): () => void;
  /** Called after every change of the snapshot. */
  subscribe(listener: () => void): () => void;
  getSnapshot(): ClientSnapshot;
}

/**
 * Seams for the mutation suite (test/mutation): each part is what a plausible client bug would
 * change. Not part of the public API.
 */
export interface ClientParts {
  machine: ClientMachine;
  /** The frame that (re)sends an outbox entry; `sends` counts earlier sends of it by this client. */
  messageFrame(entry: OutboxEntry, sends: number): MessageFrame;
  /** The stored state as loaded (before anything is used). */
  loaded(state: StoredClientState): StoredClientState;
  resumeUrl(url: string, point: { epoch: string; lastSeq: number } | undefined): string;
  createRunBook(runs: ClientRun[], limits: Partial<RunBookLimits>): RunBook;
}

const DEFAULT_PARTS: ClientParts = {
  machine: clientMachine,
  // threadId and metadata ride the frame when given (the server hands them to the handler unchanged).
  messageFrame: (entry) => ({
    type: 'message', id: entry.id, text: entry.text,
    ...(entry.threadId === undefined ? {} : { threadId: entry.threadId }),
    ...(entry.metadata === undefined ? {} : { metadata: entry.metadata as Record<string, unknown> }),
  }),
  loaded: (state) => state,
  resumeUrl,
  createRunBook: (runs, limits) => new RunBook(runs, limits),
};

/**
 * The server refuses a message whose `threadId` or `metadata` is out of its bounds (a bad frame,
 * never acked): told here at once, so the outbox never keeps a message that cannot be accepted.
 */
function checkThreadAndMetadata(threadId: unknown, metadata: unknown): void {
  if (threadId !== undefined && (typeof threadId !== 'string' || threadId.length === 0 || threadId.length > THREAD_ID_MAX)) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `send(): threadId must be a string of 1–${THREAD_ID_MAX} characters, got ${JSON.stringify(threadId)}`);
  }
  if (metadata === undefined) return;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', 'send(): metadata must be a JSON object');
  }
  const bytes = new TextEncoder().encode(JSON.stringify(metadata)).length;
  if (bytes > MESSAGE_METADATA_MAX_BYTES) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `send(): metadata is ${bytes} bytes of JSON, at most ${MESSAGE_METADATA_MAX_BYTES}`);
  }
}

function defaultMessageId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return `m-${crypto.randomUUID()}`;
  return `m-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

function invalid(message: string): never {
  throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', `createLockstepClient(): ${message}`);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) invalid(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The state the app sees: the machine's state below `active` and `online` (e.g. `ready`, `reconnecting`, `closed`). */
export function clientStateName(value: unknown): ClientStateName {
  let current = value;
  for (;;) {
    if (typeof current === 'string') return current as ClientStateName;
    const [key, child] = Object.entries(current as Record<string, unknown>)[0]!;
    if (key !== 'active' && key !== 'online') return key as ClientStateName;
    current = child;
  }
}

/** Reports an exception of an app listener without breaking the client (as EventTarget does). */
function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (report) report(error);
  else console.error('lockstep client: a listener threw', error);
}

class ClientRuntime implements LockstepClient {
  readonly #options: LockstepClientOptions;
  readonly #parts: ClientParts;
  readonly #store: ClientStore;
  readonly #outbox: Outbox;
  readonly #runs: RunBook;
  readonly #actor: Actor<AnyActorLogic>;
  readonly #WebSocket: WebSocketConstructor;
  readonly #random: () => number;
  readonly #newMessageId: () => string;
  readonly #listeners = new Map<string, Set<(event: never) => void>>();
  readonly #subscribers = new Set<() => void>();
  readonly #sends = new Map<string, number>();
  #socket: WebSocketLike | undefined;
  /** Set by the cancel or approve effect: whether the machine sent the frame (it does only while ready). */
  #cancelSent = false;
  #state: ClientStateName = 'starting';
  #snapshot: ClientSnapshot | undefined;

  constructor(options: LockstepClientOptions, parts: ClientParts) {
    this.#options = options;
    this.#parts = parts;
    let url: URL | undefined;
    try {
      url = new URL(options.url);
    } catch {
      invalid(`url must be an absolute ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') invalid(`url must be a ws:// or wss:// URL, got ${JSON.stringify(options.url)}`);
    if (options.token === undefined && options.getToken === undefined) invalid('give a token or a getToken function');
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) invalid('token must be a non-empty string');
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocketClass === undefined) invalid('no global WebSocket here (Node 20): pass WebSocket, e.g. `import WebSocket from "ws"`');
    this.#WebSocket = WebSocketClass;
    this.#random = options.random ?? Math.random;
    this.#newMessageId = options.newMessageId ?? defaultMessageId;

    this.#store = new ClientStore(options.storage ?? memoryStorage(), options.storageKey ?? 'lockstep.client');
    this.#store.state = parts.loaded(this.#store.state);
    this.#outbox = new Outbox(
      this.#store.state,
      positive('maxOutboxBytes', options.maxOutboxBytes, 256 * 1024),
      positive('maxOutboxMessages', options.maxOutboxMessages, 1_000),
    );
    this.#runs = parts.createRunBook(this.#store.state.runs, {
      retainRuns: positive('retainRuns', options.retainRuns, 100),
      retainRunBytes: positive('retainRunBytes', options.retainRunBytes, 1024 * 1024),
    });

    const getToken = options.getToken;
    const machine = ClientRuntime.#machineFor(parts.machine);
    this.#actor = createActor(machine as unknown as AnyActorLogic, {
      input: { token: options.token, canRefreshToken: getToken !== undefined, timing: options.backoff ?? {} },
      ...(options.clock ? { clock: options.clock as never } : {}),
    });
    runtimes.set(this.#actor.system, this);
    this.#actor.subscribe({
      next: (snapshot) => {
        const state = clientStateName(snapshot.value);
        if (state === this.#state) return;
        const previous = this.#state;
        this.#state = state;
        this.#changed();
        this.#emit('state', { state, previous });
        if (snapshot.status === 'done') this.#socket = undefined;
      },
      error: (error) => this.#emit('error', { code: 'LOCKSTEP_ERR_CLIENT_CLOSED', message: `client machine failed: ${String(error)}` }),
    });
    if (this.#store.discarded !== undefined) queueMicrotask(() => this.#emit('discarded', { reason: this.#store.discarded!, messages: [] }));
    this.#actor.start();
  }

  /**
   * Providing a machine rebuilds its state nodes (milliseconds); so each machine is provided
   * once, and its effects find their client through the actor system.
   */
  static readonly #provided = new WeakMap<ClientMachine, ClientMachine>();
  static #machineFor(base: ClientMachine): ClientMachine {
    const cached = ClientRuntime.#provided.get(base);
    if (cached) return cached;
    const of = (self: { system: object }): ClientRuntime => {
      const runtime = runtimes.get(self.system);
      if (runtime === undefined) throw new Error('lockstep client: machine started outside a client');
      return runtime;
    };
    const machine = base.provide({
      actors: {
        getToken: fromPromise<string, void>(async ({ system }) => {
          const getToken = of({ system }).#options.getToken;
          if (getToken === undefined) throw new Error('no getToken');
          return getToken();
        }),
      },
      actions: {
        openSocket: ({ self }, p) => of(self).#open(p.token),
        dropSocket: ({ self }, p) => of(self).#drop(p.code, p.reason),
        acceptReady: ({ self }, p) => of(self).#acceptReady(p.frame),
        flushOutbox: ({ self }) => {
          const client = of(self);
          client.#outbox.deferred.clear();
          for (const entry of client.#outbox.entries) client.#sendEntry(entry);
        },
        sendMessage: ({ self }, p) => {
          const client = of(self);
          const entry = client.#outbox.get(p.id);
          if (entry) client.#sendEntry(entry);
        },
        applyAck: ({ self }, p) => of(self).#applyAck(p.frame.id, p.frame.runId, p.frame.duplicate === true),
        applyEvent: ({ self }, p) => of(self).#applyEvent(p.frame),
        reportServerError: ({ self }, p) => of(self).#reportServerError(p.frame),
        sendCancel: ({ self }, p) => of(self).#sendCancel(p.runId),
        sendApprove: ({ self }, p) => of(self).#sendApprove(p),
        deferMessage: ({ self }, p) => void of(self).#outbox.deferred.add(p.id),
        resendDeferred: ({ self }) => {
          const client = of(self);
          const ids = [...client.#outbox.deferred];
          client.#outbox.deferred.clear();
          for (const id of ids) {
            const entry = client.#outbox.get(id);
            if (entry) client.#sendEntry(entry);
          }
        },
        reportClose: ({ self }, p) => of(self).#emit('close', p),
        reportUndecodable: ({ self }, p) => of(self).#emit('error', { code: 'LOCKSTEP_E_BAD_FRAME', message: `the server sent a frame this client cannot read: ${p.data}` }),
      },
    });
    ClientRuntime.#provided.set(base, machine);
    return machine;
  }

  get state(): ClientStateName {
    return this.#state;
  }

  get runs(): readonly ClientRun[] {
    return this.#runs.runs;
  }

  get outbox(): readonly OutboxEntry[] {
    return this.#outbox.entries;
  }

  send(text: string, options: { id?: string; threadId?: string; metadata?: unknown } = {}): string {
    if (this.#actor.getSnapshot().status !== 'active') {
      throw new LockstepError('LOCKSTEP_ERR_CLIENT_CLOSED', `send(): the client is ${this.#state}${this.#closeText()}; create a new client (over the same storage its outbox is kept)`);
    }
    if (typeof text !== 'string') throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `send(text): text must be a string, got ${typeof text}`);
    checkThreadAndMetadata(options.threadId, options.metadata);
    const id = options.id ?? this.#newMessageId();
    this.#outbox.add(id, text, options.threadId, options.metadata);
    // Stored before send() returns: a reload from here on sends it. Not stored: not sent either.
    try {
      this.#store.state.runs = this.#runs.runs as ClientRun[];
      this.#store.save();
    } catch (error) {
      this.#outbox.remove(id);
      throw new LockstepError('LOCKSTEP_ERR_STORAGE_FAILED', `send(): the message could not be stored, so it was not sent: ${String(error)}`);
    }
    this.#snapshot = undefined;
    this.#actor.send({ type: 'client.send', id });
    this.#changed();
    return id;
  }

  cancel(runId: string): boolean {
    if (typeof runId !== 'string' || runId.length === 0) throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `cancel(runId): runId must be a non-empty string, got ${JSON.stringify(runId)}`);
    if (this.#actor.getSnapshot().status !== 'active') {
      throw new LockstepError('LOCKSTEP_ERR_CLIENT_CLOSED', `cancel(): the client is ${this.#state}${this.#closeText()}`);
    }
    // The machine sends it only while ready; the effect says whether it ran.
    this.#cancelSent = false;
    this.#actor.send({ type: 'client.cancel', runId });
    return this.#cancelSent;
  }

  approve(runId: string, toolCallId: string, approved: boolean, data?: unknown): boolean {
    for (const [name, value] of [['runId', runId], ['toolCallId', toolCallId]] as const) {
      if (typeof value !== 'string' || value.length === 0) throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `approve(): ${name} must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    if (typeof approved !== 'boolean') throw new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', `approve(): approved must be a boolean, got ${JSON.stringify(approved)}`);
    if (this.#actor.getSnapshot().status !== 'active') {
      throw new LockstepError('LOCKSTEP_ERR_CLIENT_CLOSED', `approve(): the client is ${this.#state}${this.#closeText()}`);
    }
    this.#cancelSent = false;
    this.#actor.send(data === undefined ? { type: 'client.approve', runId, toolCallId, approved } : { type: 'client.approve', runId, toolCallId, approved, data });
    return this.#cancelSent;
  }

  close(): void {
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send({ type: 'client.close' });
  }

  on<K extends keyof LockstepClientEvents>(type: K, listener: (event: LockstepClientEvents[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => void set.delete(listener as (event: never) => void);
  }

  subscribe(listener: () => void): () => void {
    this.#subscribers.add(listener);
    return () => void this.#subscribers.delete(listener);
  }

  getSnapshot(): ClientSnapshot {
    this.#snapshot ??= {
      state: this.#state,
      userId: this.#store.state.userId,
      runs: this.#runs.runs,
      outbox: this.#outbox.entries,
      resumePoint: resumePoint(this.#store.state),
      lastClose: (this.#actor.getSnapshot().context as { lastClose?: ClientClose }).lastClose,
    };
    return this.#snapshot;
  }

  #closeText(): string {
    const close = (this.#actor.getSnapshot().context as { lastClose?: ClientClose }).lastClose;
    return close ? ` (last close ${close.code}${close.reason ? ` ${close.reason}` : ''})` : '';
  }

  #emit<K extends keyof LockstepClientEvents>(type: K, event: LockstepClientEvents[K]): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        (listener as (event: LockstepClientEvents[K]) => void)(event);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  #changed(): void {
    this.#snapshot = undefined;
    for (const listener of [...this.#subscribers]) {
      try {
        listener();
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  /**
   * Writes the whole state at once (runs and resume point together); subscribers are told after
   * the events. A storage that refuses the write (quota) is reported; the client goes on in
   * memory, and what is stored stays consistent (a reload resumes from the older stored point).
   */
  #commit(): void {
    this.#store.state.runs = this.#runs.runs as ClientRun[];
    this.#snapshot = undefined;
    try {
      this.#store.save();
    } catch (error) {
      this.#emit('error', { code: 'LOCKSTEP_ERR_STORAGE_FAILED', message: `the client state could not be stored: ${String(error)}` });
    }
  }

  #open(token: string): void {
    const url = this.#parts.resumeUrl(this.#options.url, resumePoint(this.#store.state));
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(url, [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`]);
    } catch (error) {
      // The constructor refuses only what no retry can fix (a token that is not a valid
      // subprotocol token, a blocked URL): reported as a protocol error, which is final.
      queueMicrotask(() => this.#actor.send({ type: 'socket.close', code: 1002, reason: `WebSocket constructor threw: ${String(error)}`.slice(0, 200), jitter: this.#random() }));
      return;
    }
    this.#socket = socket;
    const current = () => this.#socket === socket;
    socket.onopen = () => current() && this.#actor.send({ type: 'socket.open', jitter: this.#random() });
    socket.onmessage = (message: { data: unknown }) => current() && this.#actor.send(decodeServerFrame(message.data));
    socket.onclose = (event: { code: number; reason: string }) => {
      if (!current()) return;
      this.#socket = undefined;
      this.#actor.send({ type: 'socket.close', code: event.code, reason: event.reason, jitter: this.#random() });
    };
    // The close that follows an error carries what the client needs; ws throws on an unhandled error.
    socket.onerror = () => {};
  }

  #drop(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closing or closed: nothing left to give up.
    }
  }

  #sendCancel(runId: string): void {
    this.#sendFrame({ type: 'cancel', runId });
    this.#cancelSent = true;
  }

  #sendApprove(answer: { runId: string; toolCallId: string; approved: boolean; data?: unknown }): void {
    this.#sendFrame(answer.data === undefined
      ? { type: 'approve', runId: answer.runId, toolCallId: answer.toolCallId, approved: answer.approved }
      : { type: 'approve', runId: answer.runId, toolCallId: answer.toolCallId, approved: answer.approved, data: answer.data });
    this.#cancelSent = true;
  }

  #reportServerError(frame: { code: string; message: string; ref?: string }): void {
    const about = frame.ref === undefined ? undefined : this.#runs.get(frame.ref);
    this.#emit('error', { code: frame.code, message: frame.message, ...(frame.ref === undefined ? {} : { ref: frame.ref }), ...(about ? { runId: about.runId } : {}) });
  }

  #sendFrame(frame: MessageFrame | CancelFrame | ApproveFrame): void {
    const socket = this.#socket;
    if (socket !== undefined && socket.readyState === OPEN) socket.send(JSON.stringify(frame));
  }

  #sendEntry(entry: OutboxEntry): void {
    const sends = this.#sends.get(entry.id) ?? 0;
    this.#sends.set(entry.id, sends + 1);
    this.#sendFrame(this.#parts.messageFrame(entry, sends));
  }

  #acceptReady(frame: ReadyFrame): void {
    const state = this.#store.state;
    const outcome = readyOutcome(state, frame);
    let missed: MissedReport | undefined;
    if (outcome.kind === 'otherUser') {
      const messages = this.#outbox.clear();
      this.#runs.clear();
      this.#emit('discarded', { reason: `stored state of user ${outcome.storedUserId}, connected as ${frame.userId}`, messages });
      missed = { reason: 'user', epoch: state.epoch, afterSeq: state.lastSeq, liveEpoch: frame.epoch, liveFromSeq: frame.lastSeq, interruptedRuns: [] };
    } else if (outcome.kind === 'missed') {
      const interruptedRuns = this.#runs.interruptOpen();
      this.#outbox.markGapped();
      missed = { reason: outcome.reason, epoch: outcome.epoch, afterSeq: outcome.afterSeq, liveEpoch: frame.epoch, liveFromSeq: frame.lastSeq, interruptedRuns };
    }
    state.userId = frame.userId;
    if (outcome.kind !== 'resumed') {
      state.epoch = frame.epoch;
      state.lastSeq = frame.lastSeq;
    }
    this.#commit();
    if (missed) {
      this.#emit('missed', missed);
      for (const id of missed.interruptedRuns) {
        const run = this.#runs.get(id);
        if (run) this.#emit('run', run);
      }
    }
    this.#emit('ready', { ...frame, outcome: outcome.kind });
    this.#changed();
  }

  #applyAck(id: string, runId: string, duplicate: boolean): void {
    const entry = this.#outbox.remove(id);
    // An ack for an id no longer in the outbox (acked twice after a resend): nothing to do.
    if (entry === undefined) return;
    this.#sends.delete(id);
    const run = this.#runs.link(runId, entry, this.#store.state.epoch, duplicate && entry.gapped);
    this.#commit();
    this.#emit('ack', { id, runId, duplicate });
    this.#emit('run', run);
    this.#changed();
  }

  #applyEvent(frame: EventFrame): void {
    const { type: _type, ...item } = frame;
    // A coalesced delta (after a resume) covers fromSeq…seq: placed as one item of that range.
    this.#applyStreamItem(frame.fromSeq ?? frame.seq, item, frame);
  }

  /**
   * The one place a stream item reaches the runs: an `event` frame is one item covering its own
   * seq, a coalesced delta one item covering `fromSeq`…`seq` (placed by `position`; lastSeq
   * becomes `seq`); `applyItem` (run-book.ts) appends a delta's text to its run or tool call.
   */
  #applyStreamItem(fromSeq: number, item: StreamItem, frame: EventFrame): void {
    const state = this.#store.state;
    const lastSeq = state.lastSeq ?? 0;
    const where = position(lastSeq, fromSeq, item.seq);
    if (where === 'duplicate') return;
    if (where === 'gap') {
      this.#runs.markOpenIncomplete();
      this.#emit('missed', { reason: 'stream', epoch: state.epoch, afterSeq: lastSeq, liveEpoch: state.epoch ?? '', liveFromSeq: fromSeq - 1, interruptedRuns: [] });
    }
    const run = this.#runs.apply(item, state.epoch);
    state.lastSeq = item.seq;
    this.#commit();
    this.#emit('event', frame);
    this.#emit('run', run);
    this.#changed();
  }

}

/**
 * A lockstep client: connects (with the stored resume point), keeps every message in its
 * outbox until acked (re-sent with the same id after a reconnect, stored across reloads),
 * assembles the runs from the events, marks runs `interrupted` when their end may have been
 * missed, and reconnects with backoff — all decided by the client machine.
 */
export function createLockstepClient(options: LockstepClientOptions): LockstepClient {
  return new ClientRuntime(options, DEFAULT_PARTS);
}

/** For the mutation suite: a client with some of its parts replaced. */
export function createClientWithParts(options: LockstepClientOptions, parts: Partial<ClientParts>): LockstepClient {
  return new ClientRuntime(options, { ...DEFAULT_PARTS, ...parts });
}

