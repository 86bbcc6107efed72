/**
 * Where the client keeps what must survive a reload: the outbox, the resume point and the
 * runs, as one JSON text under one key (written at once, so they never disagree). Adapters are
 * synchronous on purpose: `send()` returns only after the message is stored, so a reload right
 * after it cannot lose it. `memoryStorage()` for tests and short-lived workers,
 * `localStorageStorage()` in browsers, `fileStorage(path, fs)` (./file-storage.ts) in Node.
 */
import { LockstepError } from '../protocol/errors.js';

/** A synchronous key-value store of strings (the shape of the browser's `Storage`). */
export interface ClientStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Keeps the client's state in memory: it survives a new client over the same object (a "reload" in tests), not the process. */
export function memoryStorage(): ClientStorage & { readonly size: number } {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
    get size() {
      return items.size;
    },
  };
}

/**
 * The browser's `localStorage` (or another `Storage` passed in). Throws
 * LOCKSTEP_ERR_INVALID_OPTION when there is none (Node, a sandboxed iframe): pass another adapter.
 */
export function localStorageStorage(storage?: ClientStorage): ClientStorage {
  const target = storage ?? (globalThis as { localStorage?: ClientStorage }).localStorage;
  if (target === undefined) {
    throw new LockstepError('LOCKSTEP_ERR_INVALID_OPTION', 'localStorageStorage(): no localStorage here (not a browser?); pass storage: memoryStorage() or fileStorage(path, fs)');
  }
  return target;
}
