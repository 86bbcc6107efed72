/**
 * `lockstep/client`: a typed lockstep client for browsers and Node, driven by its own machine
 * (machines/client.ts), with a persistent outbox, resume and runs as state. No Node built-in is
 * imported here: the file storage adapter takes the `fs` module as an argument.
 *
 * ```ts
 * import { createLockstepClient, localStorageStorage } from 'lockstep/client';
 * const client = createLockstepClient({ url: 'wss://chat.example.com/ws', token, storage: localStorageStorage() });
 * client.on('run', (run) => render(run));
 * client.send('hello');
 * ```
 * @module lockstep/client
 */
export { createLockstepClient } from './create-client.js';
export type {
  ClientErrorReport,
  ClientSnapshot,
  LockstepClient,
  LockstepClientEvents,
  LockstepClientOptions,
  MissedReport,
  ClientClock,
  WebSocketConstructor,
  WebSocketLike,
} from './create-client.js';
export { memoryStorage, localStorageStorage, type ClientStorage } from './storage.js';
export { fileStorage, type FileSystemLike } from './file-storage.js';
export type { OutboxEntry } from './client-store.js';
export type { ClientApprovalRequest, ClientRun, ClientRunEvent, ClientRunStatus, ClientToolCall } from './run-book.js';
export type { ReadyOutcome } from './stream-cursor.js';
export { clientMachine, CLIENT_CLOSE } from '../../machines/client.js';
export type { ClientClose, ClientStateName } from '../../machines/client.js';
export { DEFAULT_CLIENT_TIMING, backoffDelay, closeDisposition, type ClientTiming, type CloseDisposition } from '../../machines/client-policy.js';
export { LockstepError, type ErrorCode } from '../protocol/errors.js';
