/**
 * A client storage adapter over files, for Node (and Deno, Bun): one file per key in `dir`,
 * written to a temporary file and renamed over the old one, so a crash mid-write leaves the
 * previous state whole. The file system is passed in (`import fs from 'node:fs'`): this module
 * imports no Node built-in, so `lockstep/client` stays loadable in a browser bundle.
 */
import type { ClientStorage } from './storage.js';

/** The synchronous `node:fs` functions the adapter uses. */
export interface FileSystemLike {
  readFileSync(path: string, encoding: 'utf8'): string;
  writeFileSync(path: string, data: string): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options: { force: boolean }): void;
  mkdirSync(path: string, options: { recursive: boolean }): unknown;
}

/** Keys become file names: anything but `[A-Za-z0-9._-]` is percent-encoded (no path tricks). */
function fileName(key: string): string {
  return `${key.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.json`;
}

/** Stores each key as `<dir>/<key>.json` (atomically replaced on every write). */
export function fileStorage(dir: string, fs: FileSystemLike): ClientStorage {
  fs.mkdirSync(dir, { recursive: true });
  const pathOf = (key: string) => `${dir.replace(/\/+$/, '')}/${fileName(key)}`;
  return {
    getItem(key) {
      try {
        return fs.readFileSync(pathOf(key), 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return null;
        throw error;
      }
    },
    setItem(key, value) {
      const path = pathOf(key);
      fs.writeFileSync(`${path}.tmp`, value);
      fs.renameSync(`${path}.tmp`, path);
    },
    removeItem(key) {
      fs.rmSync(pathOf(key), { force: true });
    },
  };
}
