/**
 * The server's own lifecycle, so graceful shutdown is states and a named delay, not sleeps:
 *
 *   serving ──server.close──▶ draining ──runs.idle | after drainTimeout──▶ closingConnections
 *                                                         ──connections.empty──▶ closed
 *
 * draining: new upgrades are refused (503) while in-flight runs finish, at most `drainMs`;
 * live connections keep receiving their events. closingConnections: every socket gets 1001.
 * Effects are provided by the server.
 */
import { setup } from 'xstate';

/** Input of {@link serverLifecycleMachine}: how long `close()` lets in-flight runs finish. */
export interface ServerLifecycleInput { drainMs: number }

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
  },
  actions: {
    stopAccepting: () => {},
    /** Must send `runs.idle` once no run is in flight (at once if none is). */
    watchRuns: () => {},
    closeConnections: () => {},
    /** Must send `connections.empty` once every connection actor reached `closed`. */
    watchConnections: () => {},
  },
}).createMachine({
  id: 'serverLifecycle',
  context: ({ input }) => ({ drainMs: input.drainMs }),
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
    },
    closed: { type: 'final' },
  },
});
