/**
 * Decode a socket frame once per event object, however many guards and actions look at it.
 * XState hands the same event object to every guard and action of a transition, so a
 * WeakMap keyed by the event is a pure memo (entries vanish with the event).
 */
import { decodeClientFrame, type DecodeResult } from '../src/protocol/codec.js';

const decodedByEvent = new WeakMap<object, DecodeResult>();

export function decodedFrame(event: { data: string | null }): DecodeResult {
  let decoded = decodedByEvent.get(event);
  if (decoded === undefined) {
    decoded = decodeClientFrame(event.data);
    decodedByEvent.set(event, decoded);
  }
  return decoded;
}

/** Records what a frame decoded to for `event`, when the decoding happened before the event existed (the data path hands a frame over). */
export function rememberDecoded(event: { data: string | null }, decoded: DecodeResult): void {
  decodedByEvent.set(event, decoded);
}
