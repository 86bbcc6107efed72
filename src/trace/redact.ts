/**
 * Tokens never reach a trace in clear. A frame that is a JSON object with a non-empty string
 * `token` (an auth frame, or any frame a client put a token in) gets it replaced by REDACTED:
 * the frame decodes exactly as before apart from the token value, which replay never needs
 * (verifyToken's outcome is recorded instead). Tokens already seen on this connection are
 * also scrubbed from text that is not such a frame (non-JSON frames, verifier error messages).
 */
import { REDACTED } from './format.js';

function scrub(text: string, tokens: ReadonlySet<string>): string {
  let out = text;
  for (const token of tokens) if (token.length > 0) out = out.split(token).join(REDACTED);
  return out;
}

export interface RedactedFrame {
  data: string | null;
  /** The token the frame carried, so later text can be scrubbed of it too. */
  token: string | undefined;
}

export function redactFrame(data: string | null, tokens: ReadonlySet<string>): RedactedFrame {
  if (data === null) return { data, token: undefined };
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { data: scrub(data, tokens), token: undefined };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (typeof record.token === 'string' && record.token.length > 0) {
      return { data: JSON.stringify({ ...record, token: REDACTED }), token: record.token };
    }
  }
  return { data, token: undefined };
}

export function redactText(text: string, tokens: ReadonlySet<string>): string {
  return scrub(text, tokens);
}
