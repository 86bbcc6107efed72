/**
 * Which of the actor system's inspection events a trace keeps. Only what the machines
 * cannot derive themselves: events sent to the connection from outside (socket, stream,
 * acks, the answers to the machine's questions `auth.verified`/`backend.ready`/`refresh.verified`…,
 * shutdown), and fired delays. Everything
 * else (raised frames, child done events) follows from those, so the
 * recorder and the replay classify with this same function and compare the results.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ConnectionEvent } from '../../machines/connection.js';
import type { TraceEffect } from './format.js';

/** The connection machine's named effects (machines/connection.ts), the ones worth comparing. */
export const EFFECT_TYPES: ReadonlySet<string> = new Set([
  'sendFrame',
  'closeSocket',
  'terminateSocket',
  'ping',
  'invokeHandler',
  'watchDrain',
  'readFromLog',
  'joinStream',
  'leaveStream',
]);

export type Observed =
  | { kind: 'event'; event: ConnectionEvent }
  | { kind: 'delay'; actor: 'connection' | 'handshake'; delay: string; event: string }
  | { kind: 'effect'; effect: TraceEffect };

const AFTER_PREFIX = 'xstate.after.';

export function classify(inspection: InspectionEvent, root: AnyActorRef): Observed | undefined {
  if (inspection.type === '@xstate.action') {
    if (inspection.actorRef !== root || !EFFECT_TYPES.has(inspection.action.type)) return undefined;
    const { type, params } = inspection.action;
    return { kind: 'effect', effect: params === undefined ? { type } : { type, params } };
  }
  if (inspection.type !== '@xstate.event') return undefined;
  const { event, actorRef, sourceRef } = inspection;
  if (event.type.startsWith(AFTER_PREFIX)) {
    // `xstate.after.<delay>.<state id>`: the delay name is the first segment after the prefix.
    const delay = event.type.slice(AFTER_PREFIX.length).split('.')[0] ?? '';
    return { kind: 'delay', actor: actorRef === root ? 'connection' : 'handshake', delay, event: event.type };
  }
  // `actor.send()` has no source: the adapter, the stream hub, effects answering, shutdown.
  if (actorRef === root && sourceRef === undefined && !event.type.startsWith('xstate.')) {
    return { kind: 'event', event: event as ConnectionEvent };
  }
  return undefined;
}
