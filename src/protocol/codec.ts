/**
 * Pure decoding of client frames. No I/O: the connection machine calls it, so the decision
 * of what a frame means (and which error it earns) lives in the machine, not the adapter.
 */
import { ErrorCodes, type ErrorCode } from './errors.js';
import type { ClientFrame, MessageFrame, ServerFrame, StreamEvent } from './frames.js';
import { nestingExceeds } from './json-text.js';

export const MESSAGE_ID_MAX = 128;
/** Characters of a run id in a `cancel` frame (run ids are `<connection uuid>.<n>` or `push.<uuid>`). */
export const RUN_ID_MAX = 256;
/** Characters of a message's optional `threadId` (1–128, like a message id). */
export const THREAD_ID_MAX = 128;
/**
 * UTF-8 bytes of a message's optional `metadata` object, measured as its JSON text. Larger:
 * `LOCKSTEP_E_METADATA_TOO_LARGE` (the message is not accepted; a bad frame).
 */
export const MESSAGE_METADATA_MAX_BYTES = 16 * 1024;
/** Characters of an `approve` frame's `toolCallId`. */
export const TOOL_CALL_ID_MAX = 256;
/** UTF-8 bytes of an `approve` frame's optional `data`, as JSON text (like a message's metadata). */
export const APPROVAL_DATA_MAX_BYTES = 16 * 1024;
/**
 * Arrays/objects a client frame may nest (protocol frames need 1). Deeper frames are refused
 * before JSON.parse: parsing 1 MiB of `[` blocks the event loop for about half a second, and
 * anything that walked such a value recursively would overflow the stack.
 */
export const MAX_FRAME_DEPTH = 32;

/** A decoded client frame, or the `LOCKSTEP_E_*` error it earns (with the message id as `ref` when known). */
export type DecodeResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

function fail(code: ErrorCode, detail?: string, ref?: string): DecodeResult {
  const message = detail ? `${ErrorCodes[code].message}: ${detail}` : ErrorCodes[code].message;
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes one text frame. `binary` frames are refused before parsing. */
export function decodeClientFrame(raw: string | null): DecodeResult {
  if (raw === null) return fail('LOCKSTEP_E_BINARY_UNSUPPORTED');
  if (nestingExceeds(raw, MAX_FRAME_DEPTH)) return fail('LOCKSTEP_E_FRAME_TOO_DEEP', `more than ${MAX_FRAME_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('LOCKSTEP_E_BAD_JSON');
  }
  if (!isRecord(value) || typeof value.type !== 'string') {
    return fail('LOCKSTEP_E_BAD_FRAME', 'expected an object with a string "type"');
  }
  switch (value.type) {
    case 'auth':
      if (typeof value.token !== 'string' || value.token.length === 0) {
        return fail('LOCKSTEP_E_BAD_FRAME', 'auth needs a non-empty string "token"');
      }
      return { ok: true, frame: { type: 'auth', token: value.token } };
    case 'message': {
      const ref = typeof value.id === 'string' ? value.id.slice(0, MESSAGE_ID_MAX) : undefined;
      if (typeof value.id !== 'string' || value.id.length === 0 || value.id.length > MESSAGE_ID_MAX) {
        return fail('LOCKSTEP_E_BAD_FRAME', `message needs a string "id" of 1–${MESSAGE_ID_MAX} characters`, ref);
      }
      if (typeof value.text !== 'string') {
        return fail('LOCKSTEP_E_BAD_FRAME', 'message needs a string "text"', ref);
      }
      const frame: MessageFrame = { type: 'message', id: value.id, text: value.text };
      if (value.threadId !== undefined) {
        if (typeof value.threadId !== 'string' || value.threadId.length === 0 || value.threadId.length > THREAD_ID_MAX) {
          return fail('LOCKSTEP_E_BAD_FRAME', `message "threadId" must be a string of 1–${THREAD_ID_MAX} characters when present`, ref);
        }
        frame.threadId = value.threadId;
      }
      if (value.metadata !== undefined) {
        if (!isRecord(value.metadata)) return fail('LOCKSTEP_E_BAD_FRAME', 'message "metadata" must be a JSON object when present', ref);
        // Parsed from at most maxPayload bytes and 32 levels deep: re-encoding it to measure is bounded.
        const bytes = Buffer.byteLength(JSON.stringify(value.metadata));
        if (bytes > MESSAGE_METADATA_MAX_BYTES) {
          return fail('LOCKSTEP_E_METADATA_TOO_LARGE', `${bytes} bytes of JSON, at most ${MESSAGE_METADATA_MAX_BYTES}`, ref);
        }
        frame.metadata = value.metadata;
      }
      return { ok: true, frame };
    }
    case 'cancel':
      if (typeof value.runId !== 'string' || value.runId.length === 0 || value.runId.length > RUN_ID_MAX) {
        return fail('LOCKSTEP_E_BAD_FRAME', `cancel needs a string "runId" of 1–${RUN_ID_MAX} characters`);
      }
      return { ok: true, frame: { type: 'cancel', runId: value.runId } };
    case 'approve':
      return decodeApprove(value);
    case 'ping':
      if (value.id !== undefined && typeof value.id !== 'string') {
        return fail('LOCKSTEP_E_BAD_FRAME', 'ping "id" must be a string when present');
      }
      return { ok: true, frame: value.id === undefined ? { type: 'ping' } : { type: 'ping', id: value.id } };
    default:
      return fail('LOCKSTEP_E_UNKNOWN_TYPE', `"${value.type.slice(0, 64)}"`);
  }
}

/** An `approve` frame: the run and tool call it answers, the answer, and bounded `data`. */
function decodeApprove(value: Record<string, unknown>): DecodeResult {
  const ref = typeof value.runId === 'string' ? value.runId.slice(0, RUN_ID_MAX) : undefined;
  if (typeof value.runId !== 'string' || value.runId.length === 0 || value.runId.length > RUN_ID_MAX) {
    return fail('LOCKSTEP_E_BAD_FRAME', `approve needs a string "runId" of 1–${RUN_ID_MAX} characters`);
  }
  if (typeof value.toolCallId !== 'string' || value.toolCallId.length === 0 || value.toolCallId.length > TOOL_CALL_ID_MAX) {
    return fail('LOCKSTEP_E_BAD_FRAME', `approve needs a string "toolCallId" of 1–${TOOL_CALL_ID_MAX} characters`, ref);
  }
  if (typeof value.approved !== 'boolean') return fail('LOCKSTEP_E_BAD_FRAME', 'approve needs a boolean "approved"', ref);
  if (value.data === undefined) return { ok: true, frame: { type: 'approve', runId: value.runId, toolCallId: value.toolCallId, approved: value.approved } };
  // Parsed from at most maxPayload bytes and 32 levels deep: re-encoding it to measure is bounded.
  const bytes = Buffer.byteLength(JSON.stringify(value.data));
  if (bytes > APPROVAL_DATA_MAX_BYTES) {
    return fail('LOCKSTEP_E_BAD_FRAME', `approve "data" is ${bytes} bytes of JSON, at most ${APPROVAL_DATA_MAX_BYTES}`, ref);
  }
  return { ok: true, frame: { type: 'approve', runId: value.runId, toolCallId: value.toolCallId, approved: value.approved, data: value.data } };
}

/** A server frame as the JSON text sent on the socket. */
export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

let lastEvent: StreamEvent | undefined;
let lastEventJson = '';

/**
 * A stored event's JSON text, computed once per event: the log measures it (its byte bounds)
 * and every tab's event frame is built from it. Appending and handing to the user's tabs
 * happen in a row, so a one-entry memo is enough.
 */
export function eventJson(event: StreamEvent): string {
  if (event !== lastEvent) {
    lastEventJson = JSON.stringify(event);
    lastEvent = event;
  }
  return lastEventJson;
}

let lastFrameEvent: StreamEvent | undefined;
let lastFrameJson = '';

/**
 * An event frame's JSON text (`{"type":"event",…the event's fields}`), from {@link eventJson}.
 * Every tab of the user is written the same event in a row: one-entry memo, one string for all.
 */
export function encodeEventFrame(event: StreamEvent): string {
  if (event !== lastFrameEvent) {
    lastFrameJson = `{"type":"event",${eventJson(event).slice(1)}`;
    lastFrameEvent = event;
  }
  return lastFrameJson;
}
