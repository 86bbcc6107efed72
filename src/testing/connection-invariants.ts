/**
 * The connection invariants of DESIGN.md, as checks over a recorded scenario. Each returns
 * the list of violations (empty when it holds), with enough detail to read a counterexample.
 */
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { EventFrame, ReadyFrame } from '../protocol/frames.js';
import type { ScenarioTrace, Effect } from './connection-scenario.js';
import { checkStreamHistory } from './history-checker.js';

/** The ids of the invariants I1–I11 (docs/testing.md). */
export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I7' | 'I8' | 'I9' | 'I10' | 'I11';

/** One invariant violation found in a trace, with a readable message. */
export interface Violation {
  invariant: InvariantId;
  message: string;
}

const describe = (effect: Effect | undefined) => JSON.stringify(effect);

function endsWriting(effect: Effect): boolean {
  return effect.kind === 'close' || effect.kind === 'terminate' || effect.kind === 'socketGone';
}

// The checks run for every scenario and every explored sequence: plain loops, no copies.

/** The step that ends the commands (before the silent-peer finale). */
function lastCommandStep(trace: ScenarioTrace) {
  const { steps } = trace;
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.command >= 0) return steps[i];
  return steps[0];
}

/** Whether writing ended (a close, a terminate, the socket gone) within the first `effectCount` effects. */
function endedBy(trace: ScenarioTrace, effectCount: number): boolean {
  const { effects } = trace;
  const end = Math.min(effectCount, effects.length);
  for (let i = 0; i < end; i++) if (endsWriting(effects[i]!)) return true;
  return false;
}

/** I1: `ready` is the first frame sent, and no handler call precedes it. */
export function checkNoReceiveBeforeAccept(trace: ScenarioTrace): Violation[] {
  const { effects } = trace;
  let firstSend = -1;
  let readyAt = -1;
  for (let at = 0; at < effects.length; at++) {
    const effect = effects[at]!;
    if (effect.kind !== 'send') continue;
    if (firstSend === -1) firstSend = at;
    if (effect.frame.type === 'ready') {
      readyAt = at;
      break;
    }
  }
  const violations: Violation[] = [];
  if (firstSend !== -1 && (effects[firstSend] as { frame: { type: string } }).frame.type !== 'ready') {
    violations.push({ invariant: 'I1', message: `first frame sent was ${describe(effects[firstSend])}, not ready` });
  }
  // Every handler call before the ready frame (all of them when there is none).
  const beforeReady = readyAt === -1 ? effects.length : readyAt;
  for (let at = 0; at < beforeReady; at++) {
    const effect = effects[at]!;
    if (effect.kind === 'handler') {
      violations.push({ invariant: 'I1', message: `handler ran for ${effect.id} at effect ${at}, before ready (${readyAt})` });
    }
  }
  return violations;
}

/** I2: nothing is written (frame or ping) once the close began or the socket is gone. */
export function checkNoSendOutsideOpenWindow(trace: ScenarioTrace): Violation[] {
  const { effects } = trace;
  const closedAt = effects.findIndex(endsWriting);
  if (closedAt === -1) return [];
  const violations: Violation[] = [];
  for (let at = closedAt; at < effects.length; at++) {
    const effect = effects[at]!;
    if (effect.kind === 'send' || effect.kind === 'ping') {
      violations.push({ invariant: 'I2', message: `${describe(effect)} written at effect ${at}, after ${describe(effects[closedAt])}` });
    }
  }
  return violations;
}

/** The message id an effect answers: handed to the handler, or refused with an error naming it. */
function answeredMessage(effect: Effect): string | undefined {
  if (effect.kind === 'handler') return effect.id;
  if (effect.kind === 'send' && effect.frame.type === 'error' && effect.frame.ref?.startsWith('m')) return effect.frame.ref;
  return undefined;
}

/**
 * I3: every valid message is answered exactly once, in arrival order — handed to the handler,
 * or refused with an error frame naming it — and all of them are, unless the connection ended
 * with an explicit code. Before `ready` the unanswered ones are all held.
 */
export function checkNoSilentLoss(trace: ScenarioTrace): Violation[] {
  const answered: string[] = [];
  for (const effect of trace.effects) {
    const id = answeredMessage(effect);
    if (id !== undefined) answered.push(id);
  }
  const violations: Violation[] = [];
  const expectedPrefix = trace.sentMessageIds.slice(0, answered.length);
  if (answered.join() !== expectedPrefix.join()) {
    violations.push({ invariant: 'I3', message: `answered [${answered.join()}] is not the sent order [${trace.sentMessageIds.join()}]` });
  }
  const last = lastCommandStep(trace);
  if (last === undefined || endedBy(trace, last.effectCount)) {
    const closed = trace.effects.find(endsWriting);
    if (answered.length < trace.sentMessageIds.length && closed?.kind === 'close' && typeof closed.code !== 'number') {
      violations.push({ invariant: 'I3', message: 'messages went unanswered and the close has no code' });
    }
    return violations;
  }
  let answeredThen = 0;
  const answeredBy = Math.min(last.effectCount, trace.effects.length);
  for (let at = 0; at < answeredBy; at++) if (answeredMessage(trace.effects[at]!) !== undefined) answeredThen++;
  const unanswered = trace.sentMessageIds.length - answeredThen;
  if (last.state.startsWith('ready') && unanswered !== 0) {
    violations.push({ invariant: 'I3', message: `${unanswered} message(s) neither handled nor refused while ready and open (state ${last.state})` });
  }
  if (!last.state.startsWith('ready') && last.early < unanswered) {
    violations.push({ invariant: 'I3', message: `${unanswered} message(s) unanswered but only ${last.early} frame(s) held in ${last.state}` });
  }
  return violations;
}

/**
 * I4: the events sent carry consecutive seqs from the ready frame's lastSeq; a connection still
 * open and flowing at the end has every appended event.
 */
export function checkOrderedDelivery(trace: ScenarioTrace): Violation[] {
  const ready = trace.effects.find((e) => e.kind === 'send' && e.frame.type === 'ready') as { frame: ReadyFrame } | undefined;
  if (ready === undefined) return [];
  const last = lastCommandStep(trace);
  // The event frames sent, and how many of them by the end of the commands.
  const upToLast = last?.effectCount ?? 0;
  const events: EventFrame[] = [];
  let sentAtEnd = 0;
  for (let at = 0; at < trace.effects.length; at++) {
    const effect = trace.effects[at]!;
    if (effect.kind !== 'send' || effect.frame.type !== 'event') continue;
    events.push(effect.frame);
    if (at < upToLast) sentAtEnd++;
  }
  const flowingAtEnd = last !== undefined && last.state.includes('flow.flowing') && !endedBy(trace, last.effectCount);
  const expectedLast = flowingAtEnd && sentAtEnd === events.length ? trace.lastAppendedSeq : undefined;
  return checkStreamHistory(events, ready.frame.lastSeq, expectedLast).map((v) => ({
    invariant: 'I4',
    message: `event seq ${v.seq} ${v.kind} (at ${v.at}; sent ${events.map((e) => e.seq).join(',')} after lastSeq ${ready.frame.lastSeq})`,
  }));
}

/**
 * I8: held frames and the lag behind the stream (in log entries: a run of deltas is one) stay within their limits at every step, and no
 * event is written in a step whose stream event found the socket at its high-water mark, or
 * while the connection was congested before it (the machine or its data path stops writing
 * there; the log keeps the event for the catch-up after a drain).
 */
export function checkBoundedMemory(trace: ScenarioTrace): Violation[] {
  const { maxEarlyFrames, maxLagEvents, highWaterMarkBytes } = trace.scenario.limits;
  // A plain loop: this runs for every step of every explored sequence.
  const violations: Violation[] = [];
  for (let index = 0; index < trace.steps.length; index++) {
    const step = trace.steps[index]!;
    if (step.early > maxEarlyFrames) {
      violations.push({ invariant: 'I8', message: `${step.early} frames held (limit ${maxEarlyFrames}) in ${step.state}` });
    }
    if (step.lag > maxLagEvents && !step.state.includes('catchingUp')) {
      violations.push({ invariant: 'I8', message: `${step.lag} log entries behind (limit ${maxLagEvents}) in ${step.state}` });
    }
    const command = trace.scenario.commands[step.command];
    if (command?.kind !== 'streamEvent') continue;
    const before = trace.steps[index - 1];
    const wasCongested = before?.state.includes('flow.congested') === true;
    if (command.bufferedBytes < highWaterMarkBytes && !wasCongested) continue;
    const why = wasCongested ? `while congested (${before?.state})` : `with ${command.bufferedBytes} bytes buffered (high-water mark ${highWaterMarkBytes})`;
    for (let at = before?.effectCount ?? 0; at < step.effectCount; at++) {
      const effect = trace.effects[at]!;
      if (effect.kind === 'send' && effect.frame.type === 'event') {
        violations.push({ invariant: 'I8', message: `event seq ${effect.frame.seq} written ${why}` });
      }
    }
  }
  return violations;
}

const CLOSE_CODES_THE_MACHINE_DECIDES = new Set<number>([
  CloseCode.NORMAL,
  CloseCode.GOING_AWAY,
  CloseCode.POLICY,
  CloseCode.TOO_BIG,
  CloseCode.TRY_AGAIN_LATER,
  CloseCode.UNAUTHORIZED,
  CloseCode.AUTH_TIMEOUT,
  // Decided by ws for a protocol violation (socket.error); the machine only reports them.
  1002,
]);
const BACKEND_REASONS = new Set<string>([CloseReason.BACKEND_NOT_READY, CloseReason.BACKEND_TIMEOUT]);

/** I9: no 1011 from races: no action throws, backend trouble is 1013, every code is documented. */
export function checkNoInternalErrorFromRaces(trace: ScenarioTrace): Violation[] {
  const violations: Violation[] = [];
  if (trace.actorError !== undefined) {
    violations.push({ invariant: 'I9', message: `an action threw (the server would close 1011): ${String(trace.actorError)}` });
  }
  for (const effect of trace.effects) {
    if (effect.kind !== 'close') continue;
    if (!CLOSE_CODES_THE_MACHINE_DECIDES.has(effect.code)) {
      violations.push({ invariant: 'I9', message: `closed with ${effect.code} (${effect.reason})` });
    }
    if (BACKEND_REASONS.has(effect.reason) && effect.code !== CloseCode.TRY_AGAIN_LATER) {
      violations.push({ invariant: 'I9', message: `backend not ready closed with ${effect.code}, not 1013` });
    }
  }
  return violations;
}

/** I10: a silent peer is given up on by the server itself, and the actor reaches `closed`. */
export function checkLiveness(trace: ScenarioTrace): Violation[] {
  const violations: Violation[] = [];
  const final = trace.steps.at(-1);
  if (final?.status !== 'done' || final.state !== 'closed') {
    violations.push({ invariant: 'I10', message: `ended in ${final?.state} (${final?.status}), not closed` });
  }
  const peerLeftFirst = trace.effects.findIndex((e) => e.kind === 'socketGone');
  const gaveUp = trace.effects.findIndex((e) => e.kind === 'close' || e.kind === 'terminate');
  // Three records outside the commands: the start, after the silent stretch, after the socket closed.
  let outsideCommands = 0;
  for (const step of trace.steps) if (step.command < 0) outsideCommands++;
  const silentPeerFinale = outsideCommands === 3;
  if (silentPeerFinale && (gaveUp === -1 || (peerLeftFirst !== -1 && peerLeftFirst < gaveUp))) {
    violations.push({ invariant: 'I10', message: 'a silent peer was never closed or terminated by the server' });
  }
  return violations;
}

/** The connection invariant checks by id. */
export const CONNECTION_CHECKS = {
  I1: checkNoReceiveBeforeAccept,
  I2: checkNoSendOutsideOpenWindow,
  I3: checkNoSilentLoss,
  I4: checkOrderedDelivery,
  I8: checkBoundedMemory,
  I9: checkNoInternalErrorFromRaces,
  I10: checkLiveness,
} as const;

/** An invariant that `checkConnectionInvariants` checks on a connection trace. */
export type ConnectionInvariant = keyof typeof CONNECTION_CHECKS;

const ALL_CONNECTION_INVARIANTS = Object.keys(CONNECTION_CHECKS) as ConnectionInvariant[];

/** Every connection invariant at once. */
export function checkConnectionInvariants(trace: ScenarioTrace, only?: readonly ConnectionInvariant[]): Violation[] {
  const ids = only ?? ALL_CONNECTION_INVARIANTS;
  let violations: Violation[] = [];
  for (const id of ids) {
    const found = CONNECTION_CHECKS[id](trace);
    if (found.length > 0) violations = violations.concat(found);
  }
  return violations;
}
