/**
 * Server frames as the client machine's events: JSON text → `server.ready`, `server.ack`, …
 * A frame that is not JSON, not an object with a known `type`, or lacks the fields the client
 * reads is `server.undecodable` (reported, ignored): a newer server's new frame kind does not
 * break an older client.
 */
import type { ClientEvent } from '../../machines/client.js';

type ServerEvent = Exclude<ClientEvent, { type: 'socket.open' | 'socket.close' | 'client.send' | 'client.cancel' | 'client.close' }>;

const isString = (v: unknown): v is string => typeof v === 'string';
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Decodes one text frame from the server. */
export function decodeServerFrame(data: unknown): ServerEvent {
  const text = typeof data === 'string' ? data : String(data);
  const undecodable = { type: 'server.undecodable', data: text.slice(0, 200) } as const;
  let value: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undecodable;
    value = parsed as Record<string, unknown>;
  } catch {
    return undecodable;
  }
  switch (value.type) {
    case 'ready':
      if (!isString(value.userId) || !isString(value.connectionId) || !isString(value.epoch) || !isSeq(value.lastSeq) || typeof value.resumed !== 'boolean') return undecodable;
      return { type: 'server.ready', frame: value as never };
    case 'ack':
      if (!isString(value.id) || !isString(value.runId)) return undecodable;
      return { type: 'server.ack', frame: value as never };
    case 'event':
      if (!isSeq(value.seq) || !isString(value.runId) || !isString(value.event)) return undecodable;
      return { type: 'server.event', frame: value as never };
    case 'error':
      if (!isString(value.code)) return undecodable;
      return { type: 'server.error', frame: { type: 'error', code: value.code, message: isString(value.message) ? value.message : '', ...(isString(value.ref) ? { ref: value.ref } : {}) } };
    case 'auth_ok':
      return isString(value.userId) ? { type: 'server.authOk', frame: value as never } : undecodable;
    case 'pong':
      return { type: 'server.pong', frame: value as never };
    default:
      return undecodable;
  }
}
