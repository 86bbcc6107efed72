/**
 * The close code ws has already sent when it reports a protocol error on a socket
 * (ws closes the connection itself; we only record why).
 */
import { CloseCode } from './close-codes.js';

const CODES: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.TOO_BIG,
  WS_ERR_INVALID_UTF8: 1007,
};

export function closeCodeForSocketError(code: string | undefined): number {
  return (code !== undefined ? CODES[code] : undefined) ?? 1002;
}
