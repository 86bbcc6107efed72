/**
 * The client and the server composed, synchronously, on one SimulatedClock: lockstep's client
 * (createLockstepClient, its machine, outbox, store and run book) talks through simulated
 * sockets to the real connection machine (with its handshake states), the real StreamHub and
 * MemoryEventLog — wired as src/server/create-server.ts wires them, message ids recorded by
 * the log for exactly-once — and an agent whose runs advance one event per command.
 *
 * A link between the two is two FIFO pipes (TCP order); a command delivers the next frame of
 * one direction, so acks, events and closes arrive late in every interleaving a network can
 * produce. Drops kill a link (1006 on both sides, undelivered frames lost); reloads replace the
 * client by a new one over the same storage; restarts bring the server back over the same log
 * (after draining its runs) or over a new one (a crash: runs lost, new epoch).
 * Token verification and backend readiness are stand-ins settled after each command
 * (src/testing/scenario-stand-ins.ts), so no event-loop turn is needed anywhere.
 */
import { createActor, SimulatedClock, type Actor, type AnyActorRef } from 'xstate';
import { connectionMachine, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../machines/connection.js';
import type { HandshakeEvent, VerifiedIdentity } from '../../machines/handshake.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import { StreamHub } from '../../src/delivery/stream-hub.js';
import { BEARER_SUBPROTOCOL_PREFIX } from '../../src/protocol/frames.js';
import { resumeFromUrl } from '../../src/protocol/resume.js';
import { settleStandIn, standIn } from '../../src/testing/scenario-stand-ins.js';
import { createClientWithParts, type ClientParts, type LockstepClient, type MissedReport, type WebSocketLike } from '../../src/client/create-client.js';
import { memoryStorage, type ClientStorage } from '../../src/client/storage.js';

/** One step of the composed world. */
export type WorldCommand =
  | { kind: 'send' }
  /** Delivers the next frame of the current link, client → server or server → client. */
  | { kind: 'deliver'; toServer: boolean }
  /**
   * The network moves `frames` steps: an upgrade waiting is accepted first, then frames are
   * delivered, preferring one direction (the other when it has nothing).
   */
  | { kind: 'net'; toServer: boolean; frames: number }
  /** The server accepts the oldest upgrade waiting (refused while the server is down). */
  | { kind: 'accept' }
  /** The TCP connection dies: 1006 on both sides, frames in flight lost. */
  | { kind: 'drop' }
  /** One open run (the n-th, modulo) emits its next event. */
  | { kind: 'agent'; run: number }
  | { kind: 'advance'; ms: number }
  /** The page reloads: the tab is gone at once; a new client over the same storage. */
  | { kind: 'reload' }
  /** The server restarts: over the same log (runs drained, 1001), or a new one (crash, 1006). */
  | { kind: 'restart'; sameLog: boolean }
  /** The server goes down until `recover` (upgrades refused). */
  | { kind: 'outage' }
  | { kind: 'recover' };

const USER = 'alice';
const URL_BASE = 'ws://lockstep.test/ws';
const LIMITS: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, heartbeatMs: 1e9 };
/** The agent's runs: the demo agent's five events. */
const SCRIPT = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'] as const;

type PipeItem = { frame: string } | { close: number; reason: string };

/** The client's end of a simulated socket (what the client's `new WebSocket()` returns). */
class SimSocket implements WebSocketLike {
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  link: Link | undefined;
  constructor(readonly world: World, readonly url: string, readonly protocols: string[]) {
    world.upgrades.push(this);
  }
  send(data: string): void {
    if (this.readyState !== 1 || this.link === undefined) throw new Error('SimSocket: send while not open');
    this.link.toServer.push({ frame: data });
  }
  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    if (this.link === undefined) {
      // Not accepted yet: the upgrade is abandoned.
      this.readyState = 3;
      this.world.upgrades = this.world.upgrades.filter((s) => s !== this);
      return;
    }
    this.readyState = 2;
    this.link.toServer.push({ close: code, reason });
  }
  /** The peer's close arrived (or the connection died): the browser's `close` event. */
  closed(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** A WebSocket class whose sockets open into `world`. */
function socketsOf(world: World) {
  return class extends SimSocket {
    constructor(url: string, protocols: string[]) {
      super(world, url, protocols);
    }
  };
}

interface Link {
  socket: SimSocket;
  actor: Actor<typeof connectionMachine>;
  connectionId: string;
  toServer: PipeItem[];
  toClient: PipeItem[];
  dead: boolean;
}

interface ServerRun {
  runId: string;
  text: string;
  step: number;
}

/** What the world recorded, for the checks. */
export interface WorldRecord {
  /** Message ids the app sent, in order. */
  sent: string[];
  /** Every handler invocation: the message id, its run, and the epoch of the log it ran in. */
  handled: Array<{ messageId: string; runId: string; epoch: string }>;
  /** Every event the clients showed (emitted `event`), with the epoch the client was in. */
  shown: Array<{ epoch: string; seq: number; client: number }>;
  /** Every `ready` a client accepted: the epoch it continued in and the seq it continued after. */
  readies: Array<{ epoch: string; lastSeq: number; client: number }>;
  missed: MissedReport[];
  /** Epochs whose log was thrown away by a crash restart. */
  crashedEpochs: string[];
  /** Each log: epoch → its last seq for the user. */
  logs: MemoryEventLog[];
}

export interface WorldOptions {
  parts?: Partial<ClientParts>;
  /** Events the log retains per user (small: resumes are refused with `gap`). */
  retainEvents: number;
}

/** Each server connection actor's system → its world (the provided machine is shared: providing costs ms). */
const worlds = new WeakMap<object, World>();
const worldOf = (self: AnyActorRef): World => worlds.get(self.system)!;

// Verification and readiness answer at the end of the step, as resolved promises would.
const waitFor = <TOutput, TInput>(output: unknown) =>
  standIn<TOutput, TInput>((ref, system) => worlds.get(system)!.pending.push({ ref, output }));

/** The connection machine wired as create-server.ts wires it, to the world of each actor. */
const worldMachine = connectionMachine.provide({
  actors: {
    verifyRefresh: waitFor<VerifiedIdentity, { token: string }>({ userId: USER }),
  },
  actions: {
    // The handshake's questions, answered at the end of the step as the server's would be.
    verifyToken: ({ self }) => void worldOf(self).pending.push({ ref: self, answer: { type: 'auth.verified', userId: USER } }),
    checkBackend: ({ self }) => void worldOf(self).pending.push({ ref: self, answer: { type: 'backend.ready' } }),
    sendFrame: ({ self }, p) => worldOf(self).linkOf(self)?.toClient.push({ frame: JSON.stringify(p.frame) }),
    closeSocket: ({ self }, p) => worldOf(self).linkOf(self)?.toClient.push({ close: p.code, reason: p.reason }),
    terminateSocket: ({ self }) => {
      const world = worldOf(self);
      const link = world.linkOf(self);
      if (link) world.kill(link, 1006);
    },
    invokeHandler: ({ self }, p) => {
      const world = worldOf(self);
      const original = world.log.recordMessage(p.userId, p.message.id, p.runId);
      self.send({ type: 'message.accepted', id: p.message.id, runId: original ?? p.runId, duplicate: original !== undefined, bufferedBytes: 0 });
      if (original !== undefined) return;
      world.record.handled.push({ messageId: p.message.id, runId: p.runId, epoch: world.log.epoch });
      world.starting.push({ runId: p.runId, text: p.message.text, step: 0 });
    },
    joinStream: ({ self }, p) => {
      worldOf(self).hub.join(p.userId, p.connectionId, p.resume, (message) =>
        self.send(message.type === 'stream.event' ? { ...message, bufferedBytes: 0 } : message));
    },
    readFromLog: ({ self }, p) => {
      const { connectionId } = (self as Actor<typeof connectionMachine>).getSnapshot().context;
      self.send({ type: 'stream.caughtUp', events: worldOf(self).hub.readForConnection(connectionId, p.userId, p.afterSeq) as never });
    },
    leaveStream: ({ self }, p) => worldOf(self).hub.leave(p.connectionId),
  },
});

export class World {
  readonly clock = new SimulatedClock();
  readonly storage: ClientStorage = memoryStorage();
  readonly record: WorldRecord = { sent: [], handled: [], shown: [], readies: [], missed: [], crashedEpochs: [], logs: [] };
  upgrades: SimSocket[] = [];
  link: Link | undefined;
  links: Link[] = [];
  client!: LockstepClient;
  clients = 0;
  log!: MemoryEventLog;
  hub!: StreamHub;
  down = false;
  runs: ServerRun[] = [];
  /** Runs accepted in this step, started after it (the server starts them in a microtask). */
  starting: ServerRun[] = [];
  /** Stand-ins to settle (`output`) and handshake answers to send (`answer`), in order. */
  pending: Array<{ ref: AnyActorRef; output?: unknown; answer?: HandshakeEvent }> = [];
  connections = 0;

  constructor(readonly options: WorldOptions) {
    this.newLog();
    this.#newClient();
  }

  newLog(): void {
    // The server remembers message ids for the client's whole outbox (1000 = the client's
    // maxOutboxMessages default, which is the server's retainMessageIds default): with a smaller
    // window a resend after the server forgot the id runs again — the fuzz run found it with
    // retainMessageIds = retainEvents = 4 and seven unacked messages.
    this.log = new MemoryEventLog({ retainEvents: this.options.retainEvents, retainMessageIds: 1_000, now: () => 0 });
    this.hub = new StreamHub(this.log);
    this.record.logs.push(this.log);
  }

  #newClient(): void {
    const index = this.clients++;
    const client = createClientWithParts(
      {
        url: URL_BASE,
        token: USER,
        storage: this.storage,
        WebSocket: socketsOf(this),
        clock: this.clock,
        random: () => 0.5,
        newMessageId: () => `m${this.record.sent.length}`,
      },
      this.options.parts ?? {},
    );
    client.on('event', (frame) => {
      const epoch = client.getSnapshot().resumePoint?.epoch ?? '?';
      this.record.shown.push({ epoch, seq: frame.seq, client: index });
    });
    client.on('ready', (ready) => {
      const point = client.getSnapshot().resumePoint!;
      this.record.readies.push({ epoch: point.epoch, lastSeq: point.lastSeq, client: index });
      void ready;
    });
    client.on('missed', (report) => this.record.missed.push(report));
    this.client = client;
  }

  linkOf(actor: AnyActorRef): Link | undefined {
    return this.links.find((l) => l.actor === actor && !l.dead);
  }

  /** The connection dies: each side that still has it sees `code`; frames in flight are lost. */
  kill(link: Link, code: number): void {
    if (link.dead) return;
    link.dead = true;
    link.toServer.length = 0;
    link.toClient.length = 0;
    if (this.link === link) this.link = undefined;
    link.actor.send({ type: 'socket.close', code, reason: '' });
    link.socket.closed(code, '');
  }

  #accept(): void {
    const socket = this.upgrades.shift();
    if (socket === undefined) return;
    if (this.down) {
      socket.closed(1006, '');
      return;
    }
    const bearer = socket.protocols.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
    const connectionId = `c${this.connections++}`;
    const actor = createActor(worldMachine, {
      clock: this.clock,
      input: { connectionId, token: bearer?.slice(BEARER_SUBPROTOCOL_PREFIX.length), resume: resumeFromUrl(socket.url), limits: LIMITS },
    });
    worlds.set(actor.system, this);
    const link: Link = { socket, actor, connectionId, toServer: [], toClient: [], dead: false };
    socket.link = link;
    this.links.push(link);
    this.link = link;
    actor.start();
    socket.readyState = 1;
    socket.onopen?.({});
  }

  #deliver(link: Link, toServer: boolean): void {
    const item = (toServer ? link.toServer : link.toClient).shift();
    if (item === undefined || link.dead) return;
    if (toServer) {
      if ('frame' in item) link.actor.send({ type: 'socket.frame', data: item.frame, bufferedBytes: 0 });
      else {
        // The client's close frame: the server answers it and the connection is over.
        link.dead = true;
        if (this.link === link) this.link = undefined;
        link.actor.send({ type: 'socket.close', code: item.close, reason: item.reason });
        link.socket.closed(item.close, item.reason);
      }
      return;
    }
    if ('frame' in item) {
      if (link.socket.readyState === 1) link.socket.onmessage?.({ data: item.frame });
      return;
    }
    // The server's close frame reached the client, whose close answers it.
    link.dead = true;
    if (this.link === link) this.link = undefined;
    link.socket.closed(item.close, item.reason);
    link.actor.send({ type: 'socket.close', code: item.close, reason: item.reason });
  }

  #step(run: ServerRun): void {
    const event = SCRIPT[run.step]!;
    run.step += 1;
    const toolCallId = `${run.runId}.echo`;
    const data =
      event === 'agent_thinking' ? { text: 'Reading the message.' }
      : event === 'tool_executing' ? { tool: 'echo', input: { text: run.text }, toolCallId }
      : event === 'tool_completed' ? { tool: 'echo', output: { text: run.text }, toolCallId }
      : event === 'agent_completed' ? { text: `echo: ${run.text}` }
      : {};
    this.hub.publish(USER, { runId: run.runId, event, data, ts: 0 });
    if (run.step === SCRIPT.length) this.runs = this.runs.filter((r) => r !== run);
  }

  /** What promises and microtasks would do before the next event-loop turn. */
  #settle(): void {
    for (let guard = 0; guard < 1000 && (this.pending.length > 0 || this.starting.length > 0); guard++) {
      const waiting = this.pending.shift();
      if (waiting !== undefined) {
        if (waiting.ref.getSnapshot().status !== 'active') continue;
        if (waiting.answer !== undefined) waiting.ref.send(waiting.answer);
        else settleStandIn(waiting.ref, { ok: true, output: waiting.output });
        continue;
      }
      const run = this.starting.shift()!;
      this.runs.push(run);
      this.#step(run);
    }
  }

  apply(command: WorldCommand): void {
    switch (command.kind) {
      case 'send':
        if (this.client.getSnapshot().state !== 'closed') this.record.sent.push(this.client.send(`hi ${this.record.sent.length}`));
        break;
      case 'deliver':
        if (this.link) this.#deliver(this.link, command.toServer);
        break;
      case 'accept':
        this.#accept();
        break;
      case 'net':
        for (let i = 0; i < command.frames; i++) {
          if (this.upgrades.length > 0 && this.link === undefined) this.#accept();
          else if (this.link) {
            const { toServer, toClient } = this.link;
            const preferred = command.toServer ? toServer : toClient;
            this.#deliver(this.link, preferred.length > 0 ? command.toServer : !command.toServer);
          }
          this.#settle();
        }
        break;
      case 'drop':
        if (this.link) this.kill(this.link, 1006);
        break;
      case 'agent':
        if (this.runs.length > 0) this.#step(this.runs[command.run % this.runs.length]!);
        break;
      case 'advance':
        this.clock.increment(command.ms);
        break;
      case 'reload': {
        const old = this.client;
        // The tab is gone: its socket closes (1001 going away) and it does nothing more.
        const link = this.link;
        if (link) {
          link.socket.onopen = link.socket.onmessage = link.socket.onclose = null;
          this.kill(link, 1001);
        }
        for (const socket of this.upgrades) socket.onopen = socket.onclose = socket.onmessage = null;
        this.upgrades = [];
        old.close();
        this.#newClient();
        break;
      }
      case 'restart':
        this.#restart(command.sameLog);
        break;
      case 'outage':
        this.down = true;
        for (const link of [...this.links]) this.kill(link, 1006);
        break;
      case 'recover':
        this.down = false;
        break;
    }
    this.#settle();
  }

  #restart(sameLog: boolean): void {
    if (sameLog) {
      // A graceful restart: in-flight runs finish (drainMs), then every socket gets 1001.
      while (this.runs.length > 0) this.#step(this.runs[0]!);
      for (const link of this.links) if (!link.dead) link.actor.send({ type: 'server.shutdown' });
      // The process exits: what was not delivered by then is lost with it.
      this.#settle();
      for (const link of [...this.links]) this.#flushToClient(link);
      for (const link of [...this.links]) this.kill(link, 1006);
      this.hub = new StreamHub(this.log);
    } else {
      for (const link of [...this.links]) this.kill(link, 1006);
      this.record.crashedEpochs.push(this.log.epoch);
      this.runs = [];
      this.starting = [];
      this.newLog();
    }
  }

  #flushToClient(link: Link): void {
    while (!link.dead && link.toClient.length > 0) this.#deliver(link, false);
  }

  /**
   * Brings everything to rest: the server is up, every frame delivered, every upgrade
   * accepted, every run finished, the clock past every backoff, until the client is ready
   * with an empty outbox. Returns false when that did not happen within the bound.
   */
  quiesce(): boolean {
    this.down = false;
    for (let round = 0; round < 60; round++) {
      let moved = false;
      while (this.upgrades.length > 0) {
        this.#accept();
        this.#settle();
        moved = true;
      }
      for (const link of [...this.links]) {
        while (!link.dead && (link.toServer.length > 0 || link.toClient.length > 0)) {
          if (link.toServer.length > 0) this.#deliver(link, true);
          if (link.toClient.length > 0) this.#deliver(link, false);
          this.#settle();
          moved = true;
        }
      }
      if (this.runs.length > 0) {
        this.#step(this.runs[0]!);
        this.#settle();
        moved = true;
      }
      const snapshot = this.client.getSnapshot();
      if (!moved && snapshot.state === 'ready' && snapshot.outbox.length === 0 && this.runs.length === 0) return true;
      if (!moved) {
        this.clock.increment(15_000);
        this.#settle();
      }
    }
    return false;
  }
}
