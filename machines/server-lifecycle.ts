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

export interface ServerLifecycleInput { drainMs: number }

export type ServerLifecycleEvent =
  | { type: 'server.close' }
  | { type: 'runs.idle' }
  | { type: 'connections.empty' };

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
