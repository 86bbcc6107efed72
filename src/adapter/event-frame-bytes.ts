/**
 * An event frame as UTF-8 bytes, encoded once for every tab of the user: ws would encode the
 * same string again for each socket. Server-only (Node's Buffer), so not in the protocol codec,
 * which the browser client shares. Send it as a text frame (`binary: false`).
 */
import { eventJson } from '../protocol/codec.js';
import type { StreamEvent } from '../protocol/frames.js';

let lastEvent: StreamEvent | undefined;
let lastBytes: Buffer | undefined;

/** What an event frame has before the event's own fields (codec.ts encodeEventFrame: the same text). */
const FRAME_HEAD = Buffer.from('{"type":"event",', 'latin1');

/**
 * The bytes of codec.ts `encodeEventFrame(event)`, written straight from the event's JSON text
 * (which the log already made): no second string for the frame, no flattening of one.
 */
export function encodeEventFrameBytes(event: StreamEvent): Buffer {
  if (event !== lastEvent || lastBytes === undefined) {
    const json = eventJson(event);
    // The event's text goes after the head less its last byte (","): its "{" lands there, and
    // the head written over it puts the "," back.
    const at = FRAME_HEAD.length - 1;
    const bytes = Buffer.allocUnsafe(at + Buffer.byteLength(json));
    bytes.write(json, at);
    FRAME_HEAD.copy(bytes, 0);
    lastBytes = bytes;
    lastEvent = event;
  }
  return lastBytes;
}
