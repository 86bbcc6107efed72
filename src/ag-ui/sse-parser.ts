/**
 * An incremental Server-Sent Events parser over bytes, bounded per event: what an AG-UI agent
 * streams is read chunk by chunk (any byte boundary, a CRLF split across two chunks included),
 * and the bytes held for the event in progress never exceed `maxEventBytes` — one agent that
 * never ends an event cannot grow the server's memory. Only `data:` fields matter to AG-UI:
 * `event:`, `id:`, `retry:` and comments are read and dropped (they count against the bound).
 *
 * Follows the SSE standard (html.spec.whatwg.org, "event stream interpretation"): lines end in
 * LF, CR or CRLF; a blank line dispatches the event; several `data:` lines join with LF; an
 * event the stream ends in the middle of (no blank line after it) is dropped.
 */

/**
 * Default bound of one SSE event, in bytes: the bytes of its lines (line ends not counted, so
 * the bound does not depend on LF or CRLF, nor on where the chunks were cut).
 */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/** Thrown by {@link SseParser.push} when an event grows over the bound; the parser is then unusable. */
export class SseEventTooLarge extends Error {
  readonly maxEventBytes: number;
  constructor(maxEventBytes: number) {
    super(`an SSE event grew over maxEventBytes (${maxEventBytes} bytes) before its blank line`);
    this.name = 'SseEventTooLarge';
    this.maxEventBytes = maxEventBytes;
  }
}

/** The parser: `push` each chunk of the response body, get the data of the events it completed. */
export class SseParser {
  readonly maxEventBytes: number;
  readonly #decoder = new TextDecoder();
  /** Pieces of the line in progress (it began in an earlier chunk). */
  #partial: Uint8Array[] = [];
  #partialBytes = 0;
  /** Bytes of the event in progress: its completed lines, without their line ends. */
  #eventBytes = 0;
  #data: string[] = [];
  /** The previous chunk ended in CR: an LF at the start of the next one belongs to it. */
  #afterCR = false;

  constructor(maxEventBytes: number = DEFAULT_MAX_EVENT_BYTES) {
    this.maxEventBytes = maxEventBytes;
  }

  /** Reads one chunk; returns the data of every event it completed, in order. Throws {@link SseEventTooLarge}. */
  push(chunk: Uint8Array): string[] {
    const events: string[] = [];
    let i = 0;
    if (this.#afterCR && chunk.length > 0) {
      if (chunk[0] === LF) i = 1;
      this.#afterCR = false;
    }
    while (i < chunk.length) {
      let j = i;
      while (j < chunk.length && chunk[j] !== LF && chunk[j] !== CR) j++;
      if (j === chunk.length) {
        this.#check(this.#eventBytes + this.#partialBytes + (j - i));
        this.#partial.push(chunk.slice(i, j));
        this.#partialBytes += j - i;
        break;
      }
      let end = j + 1;
      if (chunk[j] === CR) {
        if (end < chunk.length && chunk[end] === LF) end++;
        else if (end === chunk.length) this.#afterCR = true;
      }
      const lineBytes = this.#partialBytes + (j - i);
      this.#check(this.#eventBytes + lineBytes);
      const line = this.#takeLine(chunk.subarray(i, j));
      this.#eventBytes += lineBytes;
      const event = this.#line(line);
      if (event !== undefined) events.push(event);
      i = end;
    }
    return events;
  }

  #check(bytes: number): void {
    if (bytes > this.maxEventBytes) throw new SseEventTooLarge(this.maxEventBytes);
  }

  #takeLine(tail: Uint8Array): string {
    if (this.#partial.length === 0) return this.#decoder.decode(tail);
    const whole = new Uint8Array(this.#partialBytes + tail.length);
    let at = 0;
    for (const piece of this.#partial) {
      whole.set(piece, at);
      at += piece.length;
    }
    whole.set(tail, at);
    this.#partial = [];
    this.#partialBytes = 0;
    return this.#decoder.decode(whole);
  }

  /** One line of the stream: a blank line dispatches; a `data` field is kept; the rest is dropped. */
  #line(line: string): string | undefined {
    if (line.length === 0) {
      const data = this.#data;
      this.#data = [];
      this.#eventBytes = 0;
      return data.length === 0 ? undefined : data.join('\n');
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return undefined;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.#data.push(value);
    return undefined;
  }
}
