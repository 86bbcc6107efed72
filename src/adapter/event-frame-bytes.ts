/**
 * An event frame as UTF-8 bytes, encoded once for every tab of the user: ws would encode the
 * same string again for each socket. Server-only (Node's Buffer), so not in the protocol codec,
 * which the browser client shares. Send it as a text frame (`binary: false`).
 */
import { encodeEventFrame } from '../protocol/codec.js';
import type { StreamEvent } from '../protocol/frames.js';

let lastEvent: StreamEvent | undefined;
let lastBytes: Buffer | undefined;

export function encodeEventFrameBytes(event: StreamEvent): Buffer {
  if (event !== lastEvent || lastBytes === undefined) {
    lastBytes = Buffer.from(encodeEventFrame(event));
    lastEvent = event;
  }
  return lastBytes;
}
