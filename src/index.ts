/**
 * `lockstep`: what an embedder uses — `createLockstepServer` and its options, token
 * verification, the handler contract, event logs and Redis scale-out, the wire protocol's
 * types, close codes and errors. The adapter's building blocks (socket tables, effects,
 * the stream hub, the codec) are in `lockstep/advanced`.
 * @module lockstep
 */
export { createLockstepServer, type LockstepServer } from './server/create-server.js';
export type { LockstepServerOptions, TraceEntry, RecordOption, Inspect } from './server/options.js';
export type { ServerMetrics } from './server/metrics.js';
export type { Logger } from './server/logger.js';
export type { MessageHandler, IncomingMessage, HandlerContext } from './agent/handler.js';
export type { RunHandle, ApprovalAnswer } from './agent/run-handle.js';
export { demoAgent } from './agent/demo-agent.js';
export { jwtVerifier, verifyDevToken, type VerifyToken } from './server/auth.js';
export { jwtOptionsVerifier, type JwtOptions } from './server/jwt.js';
export { isValidSubject, MAX_SUBJECT_LENGTH } from './protocol/subject.js';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../machines/connection.js';
export { MemoryEventLog, type EventLog, type MemoryEventLogOptions, type NewStreamEvent } from './delivery/event-log.js';
export { createRedisScaleOut, type RedisScaleOut, type RedisScaleOutOptions } from './delivery/redis-scale-out.js';
export type { AnswerClaim, RunControlRecord, SharedRunControl } from './delivery/shared-run-control.js';
export { RedisEventLog, type RedisEventLogOptions } from './delivery/redis-event-log.js';
export type { ScaleOut } from './delivery/scale-out.js';
export type { Fanout } from './delivery/stream-hub.js';
export type { MaybePromise } from './delivery/maybe-promise.js';
export { CloseCode, CloseReason } from './protocol/close-codes.js';
export { ErrorCodes, LockstepError, type ErrorCode } from './protocol/errors.js';
export * from './protocol/frames.js';
export type { CredentialSource } from './protocol/credentials.js';
export type { ConnectionTrace, ConnectionTraceEntry, TraceEffect, TraceFinal, TruncationCause, VerifyResult, BackendResult } from './trace/format.js';
