/**
 * Looking at JSON text without parsing it into values. Client frames are attacker-controlled:
 * `JSON.parse` of 1 MiB of `[` takes about half a second, and `JSON.stringify` (or any recursive
 * walk) of a value nested 20 000 deep overflows the stack and takes the process down. These
 * helpers are loops with a depth counter, never recursion, so any text is safe to give them.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The index just past the string literal that starts with the quote at `start`, or -1 when it
 * never ends. Jumps from quote to quote, so long texts cost one native search, not a JS loop.
 */
export function endOfString(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  while (quote !== -1) {
    let backslashes = 0;
    for (let i = quote - 1; i > start && text.charCodeAt(i) === BACKSLASH; i -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  return -1;
}

/**
 * True when arrays and objects in `text` nest deeper than `maxDepth` (brackets inside string
 * literals do not count). Stops at the first bracket past the limit, so a hostile frame costs
 * at most `maxDepth` steps of nesting, not its length. Valid JSON or not, it never throws.
 */
export function nestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      if (end === -1) return false;
      i = end - 1;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth -= 1;
    }
  }
  return false;
}

/** One member of a top-level JSON object, as found in its text. */
export interface TopLevelMember {
  /** The decoded key (escapes resolved: `"tok\u0065n"` is `token`). */
  key: string;
  /** Where the member's value starts and ends (exclusive) in the text. */
  valueStart: number;
  valueEnd: number;
  /** True when the value is a string literal. */
  isString: boolean;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i += 1;
  return i;
}

/** The end (exclusive) of the value starting at `i`: a string, a nested array/object (skipped by counting brackets), or a literal. -1 if it does not end. */
function endOfValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return endOfString(text, i);
  if (c === OPEN_BRACKET || c === OPEN_BRACE) {
    let depth = 0;
    for (let j = i; j < text.length; j += 1) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        const end = endOfString(text, j);
        if (end === -1) return -1;
        j = end - 1;
      } else if (d === OPEN_BRACKET || d === OPEN_BRACE) depth += 1;
      else if (d === CLOSE_BRACKET || d === CLOSE_BRACE) {
        depth -= 1;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === CLOSE_BRACE || isSpace(d)) break;
    j += 1;
  }
  return j === i ? -1 : j;
}

function decodeKey(literal: string): string | undefined {
  try {
    const key: unknown = JSON.parse(literal);
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The members of the object `text` holds at its top level, in order, found without parsing
 * the values (nested values are skipped by counting brackets). `complete` is false when the
 * text is not a well-formed object at the top level — the members found before the fault are
 * still listed, so a caller redacting secrets can redact those too.
 */
export function topLevelMembers(text: string): { members: TopLevelMember[]; complete: boolean } {
  const members: TopLevelMember[] = [];
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return { members, complete: false };
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return { members, complete: skipSpace(text, i + 1) === text.length };
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return { members, complete: false };
    const keyEnd = endOfString(text, i);
    if (keyEnd === -1) return { members, complete: false };
    const key = decodeKey(text.slice(i, keyEnd));
    if (key === undefined) return { members, complete: false };
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== 0x3a) return { members, complete: false };
    const valueStart = skipSpace(text, i + 1);
    const valueEnd = endOfValue(text, valueStart);
    if (valueEnd === -1) return { members, complete: false };
    members.push({ key, valueStart, valueEnd, isString: text.charCodeAt(valueStart) === QUOTE });
    i = skipSpace(text, valueEnd);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return { members, complete: skipSpace(text, i + 1) === text.length };
    if (c !== 0x2c) return { members, complete: false };
    i = skipSpace(text, i + 1);
  }
}
