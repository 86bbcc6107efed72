/**
 * The close code ws has already sent when it reports a protocol error on a socket
 * (ws closes the connection itself; we only record why, so metrics and logs name the code
 * the client actually received). Every `WS_ERR_*` code of ws 8's receiver (lib/receiver.js),
 * with the close code ws sends for it.
 */
import { CloseCode } from './close-codes.js';

export const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  // 1002 protocol error: frame-level violations by the client.
  WS_ERR_UNEXPECTED_RSV_2_3: 1002,
  WS_ERR_UNEXPECTED_RSV_1: 1002,
  WS_ERR_INVALID_OPCODE: 1002,
  WS_ERR_EXPECTED_FIN: 1002,
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002,
  WS_ERR_EXPECTED_MASK: 1002,
  WS_ERR_UNEXPECTED_MASK: 1002,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
  // 1007: a text frame (or close reason) that is not UTF-8.
  WS_ERR_INVALID_UTF8: 1007,
  // 1008: more fragments or buffered chunks than ws keeps for one message.
  WS_ERR_TOO_MANY_BUFFERED_PARTS: CloseCode.POLICY,
  // 1009: a message over maxPayload, or a length field beyond 2^53 - 1.
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.TOO_BIG,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: CloseCode.TOO_BIG,
};

/** The close code ws sent for its error `code`; 1002 for an error ws did not name (it closes those as protocol errors). */
export function closeCodeForSocketError(code: string | undefined): number {
  return (code !== undefined ? WS_ERROR_CLOSE_CODES[code] : undefined) ?? 1002;
}
