/**
 * Tokens never reach a trace (or an inspector) in clear. A frame whose JSON text holds, at its
 * top level, a `token` member with a string value — under any spelling of the key the parser
 * accepts (`"token"`, `"tok\u0065n"`, a duplicate key) — gets that value replaced by REDACTED.
 * The rest of the text is kept byte for byte, so the frame decodes exactly as before apart from
 * the token value, which replay never needs (verifyToken's outcome is recorded instead).
 *
 * The frame is never parsed into a value nor re-serialized: its top-level members are found by
 * a loop over the text (src/protocol/json-text.ts), so a frame nested 20 000 deep costs one scan,
 * not a stack overflow. Tokens already seen on the connection are also scrubbed from any text
 * (non-JSON frames, verifier error messages, close reasons).
 */
import { MAX_FRAME_DEPTH } from '../protocol/codec.js';
import { nestingExceeds, topLevelMembers } from '../protocol/json-text.js';
import { REDACTED } from './format.js';

const REDACTED_LITERAL = JSON.stringify(REDACTED);

function scrub(text: string, tokens: Iterable<string>): string {
  let out = text;
  for (const token of tokens) if (token.length > 0 && out.includes(token)) out = out.split(token).join(REDACTED);
  return out;
}

export interface RedactedFrame {
  data: string | null;
  /** The token the frame carried (the last one, as JSON.parse reads it), so later text can be scrubbed of it too. */
  token: string | undefined;
}

function decodeString(literal: string): string | undefined {
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** True when `text` is JSON nested no deeper than `maxDepth` (checked before parsing, so parsing is cheap). */
function isJsonWithin(text: string, maxDepth: number): boolean {
  if (nestingExceeds(text, maxDepth)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces every top-level string `token` member of the JSON text in `data` with REDACTED and
 * scrubs `tokens` from the rest. Text that is not a JSON object keeps its shape, scrubbed.
 */
export function redactFrame(data: string | null, tokens: Iterable<string>): RedactedFrame {
  if (data === null) return { data, token: undefined };
  const { members, complete } = topLevelMembers(data);
  // A JSON object is kept as it decodes (its other members are the client's data, which replay
  // needs verbatim); text the codec cannot decode anyway is scrubbed of known tokens.
  const decodable = complete && isJsonWithin(data, MAX_FRAME_DEPTH);
  const rest = (text: string, known: Iterable<string>): string => (decodable ? text : scrub(text, known));
  let out = '';
  let from = 0;
  let token: string | undefined;
  for (const member of members) {
    if (member.key !== 'token' || !member.isString) continue;
    const value = decodeString(data.slice(member.valueStart, member.valueEnd));
    // An empty token is invalid (the codec refuses it) and hides nothing: keep it, so the frame stays invalid.
    if (value === undefined || value.length === 0) continue;
    token = value;
    out += rest(data.slice(from, member.valueStart), tokens) + REDACTED_LITERAL;
    from = member.valueEnd;
  }
  if (token === undefined) return { data: rest(data, tokens), token: undefined };
  out += rest(data.slice(from), [...tokens, token]);
  return { data: out, token };
}

export function redactText(text: string, tokens: Iterable<string>): string {
  return scrub(text, tokens);
}
