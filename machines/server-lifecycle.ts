/**
 * The server's own lifecycle, so graceful shutdown is states and a named delay, not sleeps:
 *
 *   serving ──server.close──▶ draining ──runs.idle | after drainTimeout──▶ closingConnections
 *                                                         ──connections.empty──▶ closed
 *                                                         ──after closeGrace──▶ forceClose → closed
 *
 * draining: new upgrades are refused (503) while in-flight runs finish, at most `drainMs`;
 * live connections keep receiving their events. closingConnections: every socket gets 1001.
 * closeGrace bounds it: whatever a peer does (never answers the close, holds a half-sent
 * HTTP request), what is left is destroyed, so shutdown ends within drainMs + closeGraceMs.
 * Effects are provided by the server.
 */
import { setup } from 'xstate';

/** Input of {@link serverLifecycleMachine}: how long `close()` lets in-flight runs finish. */
export interface ServerLifecycleInput {
  drainMs: number;
  /** How long closingConnections waits for sockets to close before destroying what is left. */
  closeGraceMs: number;
}

/** Default of `closeGraceMs`: the connection machine's own close timeout (5 s) fits inside it. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;

/** `close()` was called, in-flight runs finished, or every connection actor closed. */
export type ServerLifecycleEvent =
  | { type: 'server.close' }
  | { type: 'runs.idle' }
  | { type: 'connections.empty' };

/**
 * Graceful shutdown, one actor per server: `serving` → `draining` (new upgrades 503, runs
 * finish within `drainMs`) → `closingConnections` (1001) → `closed`. See docs/lifecycle.md.
 */
export const serverLifecycleMachine = setup({
  types: {
    context: {} as ServerLifecycleInput,
    input: {} as ServerLifecycleInput,
    events: {} as ServerLifecycleEvent,
  },
  delays: {
    drainTimeout: ({ context }) => context.drainMs,
    closeGrace: ({ context }) => context.closeGraceMs,
  },
  actions: {
    stopAccepting: () => {},
    /** Must send `runs.idle` once no run is in flight (at once if none is). */
    watchRuns: () => {},
    closeConnections: () => {},
    /** Must send `connections.empty` once every connection actor reached `closed`. */
    watchConnections: () => {},
    /** Destroys every socket still open (WebSocket, half-open upgrade, unfinished HTTP request). */
    forceClose: () => {},
  },
}).createMachine({
  id: 'serverLifecycle',
  context: ({ input }) => ({ drainMs: input.drainMs, closeGraceMs: input.closeGraceMs }),
  initial: 'serving',
  states: {
    serving: { on: { 'server.close': 'draining' } },
    draining: {
      entry: ['stopAccepting', 'watchRuns'],
      on: { 'runs.idle': 'closingConnections' },
      after: { drainTimeout: 'closingConnections' },
    },
    closingConnections: {
      entry: ['closeConnections', 'watchConnections'],
      on: { 'connections.empty': 'closed' },
      after: { closeGrace: { target: 'closed', actions: 'forceClose' } },
    },
    closed: { type: 'final' },
  },
});
