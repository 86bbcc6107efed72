/**
 * `lockstep/advanced`: the pieces `createLockstepServer` is built from, for those who wire
 * their own server — the per-user stream hub, the socket-event forwarder and effects the
 * adapter gives each connection actor, the MachineRunner that runs a connection machine
 * without an actor system, and the wire codec. Embedders need none of it: use
 * `lockstep`. These follow the server's internals and may change in a minor release.
 * @module lockstep/advanced
 */
export { StreamHub, type Deliver, type StreamMessage, type StreamHubOptions, type StreamReceiver } from './delivery/stream-hub.js';
export { forwardSocketEvents, type EventSink, type FrameFacts, type FrameSink } from './adapter/socket-events.js';
export { SocketTable, socketEffects, type ConnectionSelf, type SocketBinding, type SocketEffectArgs } from './adapter/socket-effects.js';
export { MachineRunner, type ExecutableAction, type MachineRef, type RunnerClock } from './runtime/machine-runner.js';
export { decodeClientFrame, encodeServerFrame, type DecodeResult } from './protocol/codec.js';
