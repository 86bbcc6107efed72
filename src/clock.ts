/**
 * The time source the machines' named delays run on. Its own file, below the server options,
 * the scale-out and the trace recorder, which all need it (it used to live in the server
 * options: an import cycle options → scale-out → options).
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';

/** xstate's Clock (not exported by name): what SimulatedClock implements. */
export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
