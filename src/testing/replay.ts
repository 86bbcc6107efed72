/**
 * `replayTrace(trace)`: re-runs a recorded connection (src/trace) against the pure machines,
 * deterministically and synchronously. The answers to the machine's questions (the handshake's,
 * a token refresh's) are events of the trace, sent when it says; a SimulatedClock is set to each entry's time, so the
 * named delays fire where they fired; effects are observed, never performed. The result lists
 * every transition with its effects, and the divergences from the recording: entries that did
 * not happen the same way (e.g. a delay that fired early), effects that differ, another end.
 */
import { createActor, SimulatedClock, type AnyActorRef, type InspectionEvent } from 'xstate';
import { connectionMachine } from '../../machines/connection.js';
import { classify, type Observed } from '../trace/classify.js';
import { parseTrace, type ConnectionTrace, type TraceEffect, type ConnectionTraceEntry, type TraceFinal } from '../trace/format.js';

/** One replayed transition: the state before, the entry, the state after, and the effects it produced. */
export interface ReplayStep {
  /** Index of the trace entry this step delivered. */
  index: number;
  at: number;
  entry: ConnectionTraceEntry;
  /** Connection state before and after, e.g. `handshaking [authenticating.verifying]`. */
  before: string;
  after: string;
  /** Effects the machines executed during this step, in order. */
  effects: TraceEffect[];
}

/** Where a replay differed from the recording: what was expected and what happened. */
export interface ReplayDivergence {
  what: 'entries' | 'effects' | 'final';
  message: string;
  expected?: unknown;
  actual?: unknown;
}

/** The outcome of `replayTrace`: the steps and every divergence (none means the replay matches). */
export interface ReplayResult {
  /** True when the replay received the same entries, executed the same effects and ended the same way. */
  ok: boolean;
  trace: ConnectionTrace;
  steps: ReplayStep[];
  effects: TraceEffect[];
  final: TraceFinal;
  divergences: ReplayDivergence[];
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return Object.entries(value as Record<string, unknown>)
    .map(([key, sub]) => (typeof sub === 'string' ? `${key}.${sub}` : `${key}(${describeValue(sub)})`))
    .join(', ');
}

/** The current state of a connection actor as a readable string (nested and parallel states included). */
export function describeConnectionState(actor: AnyActorRef): string {
  return describeValue((actor.getSnapshot() as { value: unknown }).value);
}

/** One line per entry kind, comparable between the recording and the replay. */
function entryKey(entry: ConnectionTraceEntry | Exclude<Observed, { kind: 'effect' }>): string {
  switch (entry.kind) {
    case 'event':
      return `event ${JSON.stringify(entry.event)}`;
    case 'delay':
      return `delay ${entry.actor} ${entry.event}`;
    default:
      // parseTrace turns an older trace's verifier and readiness outcomes into events: none reach here.
      return `${entry.kind} ${JSON.stringify(entry)}`;
  }
}

const json = (value: unknown): string => JSON.stringify(value) ?? 'undefined';

function firstDifference<T>(expected: T[], actual: T[], key: (item: T) => string): number {
  const length = Math.max(expected.length, actual.length);
  for (let i = 0; i < length; i += 1) {
    const a = expected[i];
    const b = actual[i];
    if (a === undefined || b === undefined || key(a) !== key(b)) return i;
  }
  return -1;
}

/** Options of `replayTrace`: a machine variant to replay against. */
export interface ReplayOptions {
  /**
   * The connection machine to replay against; default: lockstep's own. A variant (e.g. one
   * with an action swapped through `.provide`) shows whether a recorded trace would catch it.
   */
  machine?: typeof connectionMachine;
}

/** Re-runs a recorded trace against the pure machines, deterministically, and compares every effect and the end state with the recording. */
export function replayTrace(input: unknown, options: ReplayOptions = {}): ReplayResult {
  const trace = parseTrace(input);
  const clock = new SimulatedClock();
  const machine = options.machine ?? connectionMachine;

  const observed: Array<Exclude<Observed, { kind: 'effect' }>> = [];
  const effects: TraceEffect[] = [];
  const actor = createActor(machine, {
    input: {
      connectionId: trace.connectionId,
      token: trace.input.token ?? undefined,
      resume: trace.input.resume ?? undefined,
      limits: trace.input.limits,
      pingSeed: trace.input.pingSeed,
    },
    clock,
  });
  // Subscribed before start, so the first inspected event is the first the actor receives.
  actor.system.inspect((inspection: InspectionEvent) => {
    const seen = classify(inspection, actor);
    if (seen === undefined) return;
    if (seen.kind === 'effect') effects.push(JSON.parse(json(seen.effect)) as TraceEffect);
    else observed.push(seen);
  });
  actor.start();

  const steps: ReplayStep[] = [];
  trace.entries.forEach((entry, index) => {
    const before = describeConnectionState(actor);
    const effectsBefore = effects.length;
    clock.set(Math.max(clock.now(), entry.at));
    if (entry.kind === 'event') actor.send(entry.event);
    // (parseTrace has turned an older trace's handshake and refresh outcomes into events.)
    steps.push({ index, at: entry.at, entry, before, after: describeConnectionState(actor), effects: effects.slice(effectsBefore) });
  });

  const snapshot = actor.getSnapshot();
  const final: TraceFinal = {
    status: snapshot.status === 'stopped' ? 'done' : snapshot.status,
    state: snapshot.value,
    closeCode: snapshot.context.close.code ?? null,
    closeReason: snapshot.context.close.reason ?? null,
    peerCloseCode: snapshot.context.close.peerCode ?? null,
  };
  actor.stop();

  const divergences: ReplayDivergence[] = [];
  // A truncated trace stops recording mid-connection: compare what it holds, no more.
  const observedEntries = trace.truncated ? observed.slice(0, trace.entries.length) : observed;
  const replayedEffects = trace.truncated ? effects.slice(0, trace.effects.length) : effects;
  const entryAt = firstDifference<ConnectionTraceEntry | Exclude<Observed, { kind: 'effect' }>>(trace.entries, observedEntries, entryKey);
  if (entryAt !== -1) {
    const expected = trace.entries[entryAt];
    const actual = observedEntries[entryAt];
    divergences.push({
      what: 'entries',
      message: `entry #${entryAt}${expected ? ` at +${expected.at}ms` : ''}: the recording has ${expected ? entryKey(expected) : 'nothing more'}, the replay ${actual ? entryKey(actual) : 'nothing more'}`,
      expected: expected && entryKey(expected),
      actual: actual && entryKey(actual),
    });
  }
  const effectAt = firstDifference(trace.effects, replayedEffects, json);
  if (effectAt !== -1) {
    let seen = 0;
    const step = steps.find((s) => (seen += s.effects.length) > effectAt);
    divergences.push({
      what: 'effects',
      message: `effect #${effectAt}${step ? ` (step #${step.index})` : ''}: recorded ${json(trace.effects[effectAt])}, replayed ${json(replayedEffects[effectAt])}`,
      expected: trace.effects[effectAt],
      actual: replayedEffects[effectAt],
    });
  }
  if (!trace.truncated) {
    const fields = ['status', 'state', 'closeCode', 'closeReason', 'peerCloseCode'] as const;
    for (const field of fields) {
      if (json(trace.final[field]) !== json(final[field])) {
        divergences.push({
          what: 'final',
          message: `final ${field}: recorded ${json(trace.final[field])}, replayed ${json(final[field])}`,
          expected: trace.final[field],
          actual: final[field],
        });
      }
    }
  }
  return { ok: divergences.length === 0, trace, steps, effects, final, divergences };
}
