/**
 * Random ids held for a connection's whole life, as flat strings. Node builds `randomUUID()`
 * by concatenating hex pieces, and V8 keeps such a result as a tree of cons strings (≈ 14
 * objects for a connection's two ids, ≈ 450 B of an idle connection's heap) until something
 * flattens it; a copy through a Buffer is one sequential string of 36 bytes.
 */
import { randomUUID } from 'node:crypto';

export const flatRandomUUID = (): string => Buffer.from(randomUUID(), 'latin1').toString('latin1');
