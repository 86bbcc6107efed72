/**
 * WebSocket close codes lockstep uses. Each one is documented in docs/errors.md and has an
 * integration test that provokes it. 1011 is deliberately absent from the races: a backend
 * that is not ready gives 1013, a handler exception becomes `agent_error` (invariant I9).
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL_FAULT: 1011,
  TRY_AGAIN_LATER: 1013,
  UNAUTHORIZED: 4401,
  AUTH_TIMEOUT: 4408,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Short reasons sent in close frames (≤ 123 bytes, as RFC 6455 requires). */
export const CloseReason = {
  SHUTDOWN: 'server shutting down',
  EARLY_OVERFLOW: 'too many frames before ready',
  BAD_FRAMES: 'too many bad frames',
  RATE_LIMITED: 'rate limit exceeded',
  TOO_MANY_CONNECTIONS: 'too many connections',
  SLOW_CONSUMER: 'slow consumer',
  UNAUTHORIZED: 'unauthorized',
  AUTH_FRAME_EXPECTED: 'first frame must be auth',
  AUTH_TIMEOUT: 'auth timeout',
  TOKEN_EXPIRED: 'token expired',
  INVALID_SUBJECT: 'invalid subject',
  BACKEND_NOT_READY: 'backend not ready',
  BACKEND_TIMEOUT: 'backend readiness timeout',
  JOIN_TIMEOUT: 'stream join timeout',
  STREAM_LOST: 'stream lost, resume',
  HEARTBEAT: 'no pong',
  INTERNAL_FAULT: 'internal fault',
  OUTGOING_OVERFLOW: 'send buffer over limit',
  EARLY_BUDGET: 'early-frame budget exhausted',
} as const;
