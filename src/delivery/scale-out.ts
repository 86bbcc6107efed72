/**
 * What a shared backend (Redis) plugs into a lockstep server so that several nodes serve
 * one set of users: the shared log, cross-node notifications, an availability check for new
 * handshakes, and node-level background work (run leases).
 */
import type { EventLog } from './event-log.js';
import type { Fanout } from './stream-hub.js';
import type { Clock } from '../clock.js';
import type { SharedRunControl } from './shared-run-control.js';

/** What a server needs to share users with other nodes: a shared log, cross-node fan-out, run leases, and whether the shared store is reachable. */
export interface ScaleOut {
  readonly eventLog: EventLog;
  readonly fanout: Fanout;
  /** Rejects while the backend is unreachable: new handshakes then close with 1013. */
  available(): Promise<void>;
  /** Cancels and approval answers for runs on other nodes; without it, only this node's runs can be cancelled or answered. */
  readonly runControl?: SharedRunControl;
  /**
   * Starts background work (lease renewal and expiry); called once by the server. It runs
   * until the owner disconnects the backend — after the server closed *and* its runs ended
   * (`server.whenRunsIdle()`), since a run that outlives `drainMs` still needs its lease.
   */
  start(clock?: Clock): void;
}
