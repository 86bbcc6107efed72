/**
 * The one registry of lockstep error codes. `wire` codes travel to clients in
 * `{"type":"error","code"}` frames; `api` codes are thrown to the embedding program.
 * test/unit/errors-documented.test.ts checks that docs/errors.md documents exactly these.
 */
export const ErrorCodes = {
  LOCKSTEP_E_BAD_JSON: { kind: 'wire', message: 'frame is not valid JSON' },
  LOCKSTEP_E_BAD_FRAME: { kind: 'wire', message: 'frame does not match the schema of its type' },
  LOCKSTEP_E_UNKNOWN_TYPE: { kind: 'wire', message: 'frame type is not part of protocol lockstep.v1' },
  LOCKSTEP_E_BINARY_UNSUPPORTED: { kind: 'wire', message: 'binary frames are not supported; send JSON text frames' },
  LOCKSTEP_E_RATE_LIMITED: { kind: 'wire', message: 'message rate limit exceeded' },
  LOCKSTEP_E_ALREADY_AUTHENTICATED: { kind: 'wire', message: 'a token refresh is already being verified on this connection' },
  LOCKSTEP_E_FRAME_TOO_DEEP: { kind: 'wire', message: 'frame JSON nests arrays/objects too deep' },
  LOCKSTEP_E_INVALID_TOKEN: { kind: 'wire', message: 'the refresh token was not accepted; the previous expiry still applies' },
  LOCKSTEP_E_SUBJECT_MISMATCH: { kind: 'wire', message: 'the refresh token is for another subject; the connection keeps its identity' },
  LOCKSTEP_E_METADATA_TOO_LARGE: { kind: 'wire', message: 'message metadata is larger than 16 KiB of JSON' },
  LOCKSTEP_E_RUN_NOT_CANCELLABLE: { kind: 'wire', message: 'no open run of this user with that id on this server (finished, unknown or another user\'s)' },
  LOCKSTEP_E_APPROVAL_NOT_PENDING: { kind: 'wire', message: 'no approval of this user\'s runs waits for this answer (answered already, timed out, unknown or another user\'s)' },
  LOCKSTEP_ERR_EVENT_ORDER: { kind: 'api', message: 'agent event emitted out of the run grammar' },
  LOCKSTEP_ERR_AUTH_REQUIRED: { kind: 'api', message: 'no token check configured' },
  LOCKSTEP_ERR_INVALID_OPTION: { kind: 'api', message: 'server option is invalid' },
  LOCKSTEP_ERR_INVALID_TRACE: { kind: 'api', message: 'connection trace file cannot be replayed' },
  LOCKSTEP_ERR_INVALID_ARGUMENT: { kind: 'api', message: 'argument of a server method is invalid' },
  LOCKSTEP_ERR_ALREADY_LISTENING: { kind: 'api', message: 'listen() was already called on this server' },
  LOCKSTEP_ERR_SERVER_CLOSED: { kind: 'api', message: 'the server is closing or closed' },
  LOCKSTEP_ERR_SERVER_ATTACHED: { kind: 'api', message: 'another lockstep server is attached to this http.Server' },
  LOCKSTEP_ERR_MISSING_PEER: { kind: 'api', message: 'an optional peer dependency this feature needs is not installed' },
  LOCKSTEP_ERR_OUTBOX_FULL: { kind: 'api', message: 'the client outbox is over maxOutboxBytes' },
  LOCKSTEP_ERR_CLIENT_CLOSED: { kind: 'api', message: 'the client is closed' },
  LOCKSTEP_ERR_STORAGE_FAILED: { kind: 'api', message: 'the client storage refused a write' },
} as const;

/** A stable `LOCKSTEP_E_*` (wire) or `LOCKSTEP_ERR_*` (API) code; each is documented in docs/errors.md. */
export type ErrorCode = keyof typeof ErrorCodes;

/** An error thrown by lockstep's API, with a stable `code` in the style of `ws` and Node. */
export class LockstepError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'LockstepError';
    this.code = code;
  }
}
