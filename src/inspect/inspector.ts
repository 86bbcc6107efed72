/**
 * `lockstep serve --inspect`: an `@statelyai/inspect` WebSocket inspector for every connection
 * actor. `@statelyai/inspect` is an optional peer dependency, imported only here and only when
 * inspection is asked for, so a server without `--inspect` never loads it.
 *
 * Tokens stay out of the stream: every `token` (machine contexts, actor inputs) and every raw
 * `auth` frame is redacted before an inspection event leaves the process.
 */
import type { Inspect } from '../server/options.js';
import { MAX_FRAME_DEPTH } from '../protocol/codec.js';
import { nestingExceeds, topLevelMembers } from '../protocol/json-text.js';
import { redactFrame } from '../trace/redact.js';
import { withOptionalPeer } from '../optional-peer.js';

export interface ConnectionInspector {
  /** Pass as the server option `inspect`. */
  inspect: Inspect;
  stop(): void;
}

const REDACTED = '[redacted]';
const MAX_DEPTH = 12;

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) || proto === Object.prototype || proto === null;
}

/**
 * A string as the inspector may show it. A raw frame is redacted on what it decodes to, not on
 * its spelling: every top-level `token` member, under any escaping of the key (`"tok\u0065n"`),
 * is replaced (src/trace/redact.ts scans the text, no parse, no recursion). Text that is not a
 * JSON object but mentions a token in any form is withheld whole: it cannot be read reliably.
 */
function redactString(text: string): string {
  if (!text.includes('tok') && !text.includes('\\')) return text;
  const { data, token } = redactFrame(text, []);
  if (token !== undefined) return data ?? REDACTED;
  const { complete } = topLevelMembers(text);
  if (complete && !nestingExceeds(text, MAX_FRAME_DEPTH)) return text;
  return /tok|\\u/i.test(text) ? REDACTED : text;
}

/**
 * A copy of an inspection event with every `token` property and every raw frame that carries
 * a token (`{"type":"auth","token":…}`) replaced by `[redacted]` — in contexts, actor inputs,
 * events and snapshots alike. Only plain objects and arrays are copied; anything else (actor
 * refs) is left to the inspector's own serializer.
 */
export function redactTokens<T>(value: T, depth = 0, seen = new WeakSet<object>()): T {
  if (typeof value === 'string') return redactString(value) as T;
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || !isPlain(value) || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item: unknown) => redactTokens(item, depth + 1, seen)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = key === 'token' && typeof item === 'string' ? REDACTED : redactTokens(item, depth + 1, seen);
  }
  return copy as T;
}

export async function createConnectionInspector(relayWsUrl: string): Promise<ConnectionInspector> {
  const inspectModule = await withOptionalPeer('@statelyai/inspect', 'lockstep serve --inspect', () => import('@statelyai/inspect'));
  const inspector = inspectModule.createWebSocketInspector({
    url: relayWsUrl,
    serialize: (event) => redactTokens(event),
  });
  return { inspect: inspector.inspect, stop: () => inspector.stop() };
}
