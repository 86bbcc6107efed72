/**
 * Bounded exhaustive exploration of the connection machine, the way a model checker does it:
 * every command sequence up to a depth, over a fixed alphabet of commands, enumerated depth-first
 * from shared prefixes. A prefix is run once; each continuation starts from a fork of the actor
 * at the end of it (./scenario-fork.ts) instead of replaying it from a fresh actor. Every
 * sequence — every node of the tree, not only the leaves — is a scenario in its own right: it
 * gets the silent-peer finale and the same invariant checks as the random properties
 * (./connection-invariants.ts).
 *
 * States are identified as a model checker identifies them: a state is everything the future
 * of the connection depends on — the machine's persisted snapshot (state, context, children),
 * its pending timers (time left, in order), and the harness's answers and stream. What a command
 * does from a state, and what the finale does, depends on nothing else; so each command is run
 * once per distinct state (on a fork of the actor that first reached it) and each finale once,
 * and a sequence's trace is assembled from those recorded pieces, shifted to where they occur.
 * The machine runs once per distinct (state, command); every sequence is still checked whole.
 */
import { connectionTokens, type FrameCounters } from '../../machines/frame-counters.js';
import type { ConnectionLimits } from '../../machines/connection.js';
import { checkConnectionInvariants, type ConnectionInvariant, type Violation } from './connection-invariants.js';
import {
  applyCommand,
  finishScenario,
  pendingTimerKeys,
  startScenario,
  type ConnectionCommand,
  type ConnectionScenario,
  type Effect,
  type RunScenarioOptions,
  type ScenarioHead,
  type ScenarioRun,
  type ScenarioTrace,
  type Step,
} from './connection-scenario.js';
import { forkScenario, forkSeed } from './scenario-fork.js';

/** Options of `exploreConnection`. */
export interface ExploreOptions extends RunScenarioOptions {
  /** Longest command sequence explored (every shorter one is explored too). */
  depth: number;
  /** The commands each step chooses from; default `explorationAlphabet(head.limits)`. */
  alphabet?: readonly ConnectionCommand[];
  /** The invariants checked on every sequence; default all. */
  invariants?: readonly ConnectionInvariant[];
  /** Stop after this many sequences (the report says it stopped early). */
  maxSequences?: number;
  /**
   * Stop when this many states (distinct states at each depth) are recorded: each holds its
   * pieces, and an actor until its continuations are known (~10–20 KiB in all). Default 20,000.
   */
  maxStates?: number;
  /** Stop after this long (the report says it stopped early). */
  timeLimitMs?: number;
  /** Sees every checked trace. */
  onTrace?: (trace: ScenarioTrace) => void;
}

/** A sequence whose trace broke an invariant. */
export interface ExploredViolation {
  scenario: ConnectionScenario;
  violations: Violation[];
}

/** What an exploration covered. */
export interface ExploreReport {
  /** Command sequences run and checked (interleavings). */
  sequences: number;
  /** Distinct states reached (machine snapshot + timers + harness), the start included. */
  distinctStates: number;
  /** Distinct state values (`ready.flow.flowing|…`), as `lockstep fuzz` counts them for random scenarios. */
  distinctStateValues: number;
  /** Commands the machine ran: one per distinct (state, command) pair. */
  commands: number;
  /** Finales the machine ran: one per distinct state. */
  finales: number;
  forks: number;
  /** True when `maxSequences`, `maxStates` or `timeLimitMs` stopped it before every sequence was explored. */
  truncated: boolean;
  /** The first violation found (the exploration stops there). */
  violation?: ExploredViolation;
}

/** What a command (or the finale) did from a state: what it appended, relative to where it started. */
interface Piece {
  effects: Effect[];
  /** Steps with `effectCount` relative to the effects before the piece. */
  steps: Step[];
  /** Message ids it sent (`m<n>`, numbered on from the sequence's count). */
  sent: number;
  /** The actor's error, if an action threw during the piece. */
  error: { value: unknown } | undefined;
}

/** A distinct state at a depth (the depth matters: it numbers the next command, e.g. ping ids). */
interface StateNode {
  /** An actor in this state, kept to fork from; consumed once every continuation is known. */
  run: ScenarioRun | undefined;
  persisted: unknown;
  /** The state's fingerprint (the node is this state at `depth`). */
  state: string;
  /** Socket gone or actor stopped: nothing can follow. */
  ended: boolean;
  depth: number;
  stateValue: string;
  finale?: Piece;
  next: ({ piece: Piece; node: StateNode } | undefined)[];
}

/**
 * The alphabet the exploration chooses from, for the given limits: every command kind, with
 * the parameters that lead to different behaviour (results that succeed or fail, a stream event
 * above and below the high-water mark, a short clock step, one to the shortest timeout and one
 * past the longest).
 */
export function explorationAlphabet(limits: ConnectionLimits): ConnectionCommand[] {
  const shortest = Math.min(limits.authTimeoutMs, limits.backendTimeoutMs, limits.heartbeatMs, limits.closeTimeoutMs);
  const longest = Math.max(limits.authTimeoutMs + limits.backendTimeoutMs, limits.heartbeatMs, limits.closeTimeoutMs);
  return [
    { kind: 'message' },
    { kind: 'ping' },
    { kind: 'garbage' },
    { kind: 'binary' },
    { kind: 'auth' },
    { kind: 'verify', ok: true },
    { kind: 'verify', ok: false },
    { kind: 'backend', ok: true },
    { kind: 'backend', ok: false },
    { kind: 'streamEvent', bufferedBytes: 0 },
    { kind: 'streamEvent', bufferedBytes: limits.highWaterMarkBytes + 1 },
    { kind: 'drain' },
    { kind: 'pong' },
    { kind: 'advance', ms: 25 },
    { kind: 'advance', ms: shortest },
    { kind: 'advance', ms: longest },
    { kind: 'peerClose', code: 1000 },
    { kind: 'socketError', closeCode: 1009 },
    { kind: 'shutdown' },
  ];
}

/** Small limits that short sequences exhaust: two early frames, two bad frames, a burst of two. */
export const EXPLORATION_LIMITS: ConnectionLimits = {
  authTimeoutMs: 1_000,
  backendTimeoutMs: 2_000,
  joinTimeoutMs: 4_000,
  heartbeatMs: 3_000,
  closeTimeoutMs: 500,
  maxEarlyFrames: 2,
  maxBadFrames: 2,
  messageRate: 2,
  messageBurst: 2,
  highWaterMarkBytes: 1_000,
  maxLagEvents: 2,
  maxOutgoingBytes: 2_000,
  maxEarlyBytes: 200,
  maxEarlyBytesTotal: 64 * 1024 * 1024,
  userMessageRate: 40,
  userMessageBurst: 80,
};

/** A bucket as its tokens at `now` (one spent while time was unknown does not refill yet: marked). */
function timelessBucket(counters: FrameCounters, now: number, limits: ConnectionLimits): number | [number, 'untimed'] {
  const tokens = connectionTokens(counters, now, limits);
  return counters.bucket !== undefined && counters.bucket.atMs === undefined ? [tokens, 'untimed'] : tokens;
}

/**
 * The persisted snapshot as JSON.stringify sees it, less its context's limits when they are the
 * head's: every state of an exploration holds that one object (a machine that assigned other
 * limits keeps them in), so the flag returned with it stands for them.
 */
function withoutHeadLimits(persisted: unknown, limits: ConnectionLimits): [unknown, boolean] {
  const json = (persisted as { toJSON?: () => unknown } | null)?.toJSON?.() ?? persisted;
  const context = (json as { context?: { limits?: unknown } } | null)?.context;
  if (context?.limits !== limits) return [json, false];
  const { limits: _head, ...rest } = context;
  return [{ ...(json as object), context: rest }, true];
}

/** Everything the rest of a scenario depends on, as one string (equal strings: equal futures). */
function fingerprint(run: ScenarioRun, persisted: unknown, withTime: boolean): string {
  const now = run.clock.now();
  const timers = pendingTimerKeys(run);
  const { harness } = run;
  // A bucket's future depends on its tokens now, not on when it was last spent: buckets are
  // written as their tokens at the clock's time, so states reached at other times still match.
  const limits = run.head.limits;
  const timeless = (_key: string, value: unknown) =>
    value !== null && typeof value === 'object' && 'runCount' in value && 'badFrames' in value && 'bucket' in value
      ? { ...(value as FrameCounters), bucket: timelessBucket(value as FrameCounters, now, limits) }
      : value;
  const [snapshot, headLimits] = withoutHeadLimits(persisted, limits);
  return JSON.stringify([
    snapshot,
    headLimits,
    timers,
    // A hook that reads the clock (a mutant's) can make absolute time matter.
    withTime ? now : 0,
    run.socketGone,
    run.actor.getSnapshot().status,
    harness.subscribed,
    harness.log.length,
    harness.verify,
    harness.backend,
    harness.pending.map((p) => `${p.dependency}:${p.ref.getSnapshot().status}`),
    // The data path's mode and position are state too (the machine's context lags behind it).
    harness.path === undefined ? null : [harness.path.eventsInstalled, harness.path.acksInstalled, harness.path.lastSeq, harness.path.frames ?? null, harness.path.framesAwaitMachine],
    run.sentMessageIds.length,
    run.error === undefined,
  ], timeless);
}

/** What `run` appended since it had `effects` effects, `steps` steps and `sent` message ids. */
function pieceSince(run: ScenarioRun, effects: number, steps: number, sent: number, error: ScenarioRun['error']): Piece {
  return {
    effects: run.harness.effects.slice(effects),
    steps: run.steps.slice(steps).map((step) => ({ ...step, effectCount: step.effectCount - effects })),
    sent: run.sentMessageIds.length - sent,
    error: run.error === error ? undefined : run.error,
  };
}

/** A sequence's trace as the checks read it, over the visit's own arrays. */
class VisitTrace implements ScenarioTrace {
  constructor(
    readonly scenario: ConnectionScenario,
    readonly effects: Effect[],
    readonly steps: Step[],
    readonly sentMessageIds: string[],
    readonly lastAppendedSeq: number,
    readonly actorError: unknown,
  ) {}
  /** The checks do not read it: made when asked for. */
  get statesSeen(): Set<string> {
    return new Set(this.steps.map((s) => s.state));
  }
}

/** Explores every command sequence up to `depth` from one scenario head; stops at the first violation. */
export function exploreConnection(head: ScenarioHead, options: ExploreOptions): ExploreReport {
  const alphabet = options.alphabet ?? explorationAlphabet(head.limits);
  const maxSequences = options.maxSequences ?? Number.POSITIVE_INFINITY;
  const maxStates = options.maxStates ?? 20_000;
  const withTime = options.onClock !== undefined;
  const report: ExploreReport = { sequences: 0, distinctStates: 0, distinctStateValues: 0, commands: 0, finales: 0, forks: 0, truncated: false };
  const states = new Set<string>();
  const stateValues = new Set<string>();
  /** The explored states, by fingerprint, then by depth. */
  const nodes = new Map<string, StateNode[]>();
  let nodeCount = 0;
  const finales = new Map<string, Piece>();

  const nodeOf = (run: ScenarioRun, depth: number): StateNode => {
    const persisted = forkSeed(run);
    const state = fingerprint(run, persisted, withTime);
    states.add(state);
    let atDepths = nodes.get(state);
    if (atDepths === undefined) nodes.set(state, (atDepths = []));
    const known = atDepths[depth];
    if (known !== undefined) {
      run.actor.stop();
      return known;
    }
    const ended = run.socketGone || run.actor.getSnapshot().status !== 'active';
    const node: StateNode = { run, persisted, state, ended, depth, stateValue: run.steps.at(-1)!.state, next: [] };
    atDepths[depth] = node;
    if (++nodeCount >= maxStates) report.truncated = true;
    return node;
  };
  const fork = (node: StateNode): ScenarioRun => {
    report.forks++;
    return forkScenario(node.run!, options, node.persisted);
  };

  // The sequence being visited: its trace so far (absolute effect counts) and its commands.
  const start = startScenario(head, options);
  const effects: Effect[] = start.harness.effects.slice();
  const steps: Step[] = start.steps.slice();
  const commands: ConnectionCommand[] = [];
  let sent = 0;
  let appended = 0;
  let error: ScenarioRun['error'];

  const append = (piece: Piece) => {
    const base = effects.length;
    for (const effect of piece.effects) effects.push(effect);
    for (const step of piece.steps) steps.push({ ...step, effectCount: step.effectCount + base });
    sent += piece.sent;
  };

  const finaleOf = (node: StateNode): Piece => {
    if (node.finale !== undefined) return node.finale;
    // A state with no continuation to explore (ended, or at the depth bound) gives its own
    // actor to the finale; the others fork one.
    const last = node.ended || node.depth >= options.depth;
    // The finale sends no command, so it depends on the state alone, not on the depth.
    const known = finales.get(node.state);
    if (known !== undefined) {
      if (last) {
        node.run?.actor.stop();
        node.run = undefined;
        node.persisted = undefined;
      }
      node.finale = known;
      return known;
    }
    const run = last ? node.run! : fork(node);
    if (last) {
      node.run = undefined;
      node.persisted = undefined;
    }
    const before = { effects: run.harness.effects.length, steps: run.steps.length, error: run.error };
    finishScenario(run, []);
    node.finale = pieceSince(run, before.effects, before.steps, run.sentMessageIds.length, before.error);
    finales.set(node.state, node.finale);
    report.finales++;
    return node.finale;
  };

  // The checks read the sequence's trace in place: the finale is appended to the visit's own
  // arrays for the time of the checks, the commands and message ids are the visit's (the checks
  // only read them). A hook, which may keep what it sees, gets copies.
  const liveScenario: ConnectionScenario = { ...head, commands };
  /** The ids of the first n messages, one shared array per n. */
  const messageIdPrefixes: string[][] = [[]];
  const messageIdsUpTo = (n: number): string[] => {
    while (messageIdPrefixes.length <= n) {
      const previous = messageIdPrefixes[messageIdPrefixes.length - 1]!;
      messageIdPrefixes.push([...previous, `m${previous.length}`]);
    }
    return messageIdPrefixes[n]!;
  };
  const check = (node: StateNode) => {
    const finale = finaleOf(node);
    const base = effects.length;
    const stepCount = steps.length;
    for (const effect of finale.effects) effects.push(effect);
    for (const step of finale.steps) steps.push({ ...step, effectCount: step.effectCount + base });
    const actorError = error ?? finale.error;
    const sentMessageIds = messageIdsUpTo(sent + finale.sent);
    const lastAppendedSeq = head.priorEvents + appended;
    report.sequences++;
    try {
      if (options.onTrace !== undefined) {
        const traceSteps = steps.slice();
        options.onTrace({
          scenario: { ...head, commands: commands.slice() },
          effects: effects.slice(),
          steps: traceSteps,
          sentMessageIds: sentMessageIds.slice(),
          lastAppendedSeq,
          actorError: actorError?.value,
          // Made when asked for.
          get statesSeen() {
            return new Set(traceSteps.map((s) => s.state));
          },
        });
      }
      const trace = new VisitTrace(liveScenario, effects, steps, sentMessageIds, lastAppendedSeq, actorError?.value);
      const violations = checkConnectionInvariants(trace, options.invariants);
      if (violations.length > 0) report.violation = { scenario: { ...head, commands: commands.slice() }, violations };
    } finally {
      effects.length = base;
      steps.length = stepCount;
    }
  };

  const transition = (node: StateNode, depth: number, i: number) => {
    let next = node.next[i];
    if (next === undefined) {
      // The last continuation of a state whose others and finale are known takes its actor.
      const last = i === alphabet.length - 1 && node.finale !== undefined && node.next.filter(Boolean).length === alphabet.length - 1;
      const run = last ? node.run! : fork(node);
      if (last) {
        node.run = undefined;
        node.persisted = undefined;
        // A hook that holds the clock (a mutant's) must hold the one of the actor that runs now.
        options.onClock?.(run.clock);
      }
      const before = { effects: run.harness.effects.length, steps: run.steps.length, sent: run.sentMessageIds.length, error: run.error };
      applyCommand(run, alphabet[i]!, depth);
      report.commands++;
      const piece = pieceSince(run, before.effects, before.steps, before.sent, before.error);
      next = { piece, node: nodeOf(run, depth + 1) };
      node.next[i] = next;
      // Every continuation known: the actor is no longer needed.
      if (node.run !== undefined && node.finale !== undefined && node.next.filter(Boolean).length === alphabet.length) {
        node.run.actor.stop();
        node.run = undefined;
        node.persisted = undefined;
      }
    }
    return next;
  };

  const stopped = () => report.violation !== undefined || report.truncated;

  const deadline = options.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.timeLimitMs;
  const visit = (node: StateNode, depth: number) => {
    if (report.sequences >= maxSequences || (report.sequences % 256 === 0 && performance.now() > deadline)) {
      report.truncated = true;
      return;
    }
    stateValues.add(node.stateValue);
    check(node);
    if (node.ended || depth >= options.depth) return;
    for (let i = 0; i < alphabet.length && !stopped(); i++) {
      const { piece, node: nextNode } = transition(node, depth, i);
      if (stopped()) return;
      const effectCount = effects.length;
      const stepCount = steps.length;
      const errorBefore = error;
      const streamEvent = alphabet[i]!.kind === 'streamEvent' ? 1 : 0;
      commands.push(alphabet[i]!);
      append(piece);
      appended += streamEvent;
      error ??= piece.error;
      visit(nextNode, depth + 1);
      commands.pop();
      effects.length = effectCount;
      steps.length = stepCount;
      sent -= piece.sent;
      appended -= streamEvent;
      error = errorBefore;
    }
  };

  try {
    visit(nodeOf(start, 0), 0);
  } finally {
    for (const atDepths of nodes.values()) for (const node of atDepths) node?.run?.actor.stop();
  }
  report.distinctStates = states.size;
  report.distinctStateValues = stateValues.size;
  return report;
}
