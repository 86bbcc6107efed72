/**
 * `lockstep`: the server, the adapter pieces, options, protocol types and errors.
 * @module lockstep
 */
export { createLockstepServer, type LockstepServer } from './server/create-server.js';
export type { ServerMetrics } from './server/metrics.js';
export type { LockstepServerOptions, TraceEntry } from './server/options.js';
export type { Logger } from './server/logger.js';
export { jwtVerifier, verifyDevToken, type VerifyToken } from './server/auth.js';
export { jwtOptionsVerifier, type JwtOptions } from './server/jwt.js';
export { isValidSubject, MAX_SUBJECT_LENGTH } from './protocol/subject.js';
export type { MessageHandler, IncomingMessage, HandlerContext } from './agent/handler.js';
export type { RunHandle } from './agent/run-handle.js';
export { demoAgent } from './agent/demo-agent.js';
export { MemoryEventLog, type EventLog, type MemoryEventLogOptions, type NewStreamEvent } from './delivery/event-log.js';
export { StreamHub, type Deliver, type StreamMessage } from './delivery/stream-hub.js';
export { forwardSocketEvents, type EventSink, type FrameFacts } from './adapter/socket-events.js';
export { SocketTable, socketEffects, type SocketEffectArgs } from './adapter/socket-effects.js';
export { CloseCode, CloseReason } from './protocol/close-codes.js';
export { ErrorCodes, LockstepError, type ErrorCode } from './protocol/errors.js';
export { decodeClientFrame, encodeServerFrame, type DecodeResult } from './protocol/codec.js';
export * from './protocol/frames.js';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../machines/connection.js';
export type { RecordOption } from './server/options.js';
export type { ConnectionTrace, ConnectionTraceEntry, TraceEffect, TraceFinal, TruncationCause } from './trace/format.js';
export { createRedisScaleOut, type RedisScaleOut, type RedisScaleOutOptions } from './delivery/redis-scale-out.js';
export { RedisEventLog, type RedisEventLogOptions } from './delivery/redis-event-log.js';
export type { ScaleOut } from './delivery/scale-out.js';
export type { Fanout } from './delivery/stream-hub.js';
export type { MaybePromise } from './delivery/maybe-promise.js';
export type { Inspect } from './server/options.js';
export type { VerifyResult, BackendResult } from './trace/format.js';
export type { StreamHubOptions } from './delivery/stream-hub.js';
export type { CredentialSource } from './protocol/credentials.js';
