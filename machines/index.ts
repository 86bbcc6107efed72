/**
 * `lockstep/machines`: the pure machines, usable without ws (browser, Stately tooling, tests).
 * @module lockstep/machines
 */
export * from './handshake.js';
export * from './connection.js';
export type { SocketFacts, StreamLag } from './connection-bounds.js';
export * from './agent-run.js';
export * from './server-lifecycle.js';
export * from './lease-keeper.js';
export * from './connection-data-path.js';
export * from './frame-counters.js';
export * from './client.js';
