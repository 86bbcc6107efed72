/** Prometheus metrics, one registry per server so several servers can live in one process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const CONNECTION_STATES = ['handshaking', 'joining', 'ready', 'closing', 'terminating'] as const;
export type LiveConnectionState = (typeof CONNECTION_STATES)[number];

/** lockstep's Prometheus metrics, in their own registry (`registry`), served on GET /metrics. */
export interface ServerMetrics {
  registry: Registry;
  /** Process metrics (CPU, memory, event loop, GC), shared by every server of the process. */
  processRegistry: Registry;
  handshakeSeconds: Histogram;
  framesHeldBeforeReady: Counter;
  closes: Counter<'code'>;
  handlerFaults: Counter;
  congestions: Counter;
  /** Upgrades refused before any WebSocket existed, by HTTP status and reason. */
  upgradesRefused: Counter<'status' | 'reason'>;
}

let processMetrics: Registry | undefined;

/**
 * Collected once per process: each collection installs event-loop and GC observers that are
 * never removed, so doing it per server leaked ~90 KB per server and slowed every GC (found by
 * the 10,000-run model property, which starts a server per run).
 */
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'lockstep_process_' });
  }
  return processMetrics;
}

export function createMetrics(countByState: () => Record<LiveConnectionState, number>): ServerMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'lockstep_connections',
    help: 'Live connections by connection-machine state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = countByState();
      for (const state of CONNECTION_STATES) this.set({ state }, counts[state]);
    },
  });
  return {
    registry,
    processRegistry: processRegistry(),
    handshakeSeconds: new Histogram({
      name: 'lockstep_handshake_duration_seconds',
      help: 'Time from upgrade to the ready frame (credentials, verification, backend readiness).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    framesHeldBeforeReady: new Counter({
      name: 'lockstep_frames_held_before_ready_total',
      help: 'Client frames that arrived before ready and were held, then handled in order.',
      registers: [registry],
    }),
    closes: new Counter({
      name: 'lockstep_connections_closed_total',
      help: 'Closed connections by close code (the code the server sent, else the peer\'s).',
      labelNames: ['code'],
      registers: [registry],
    }),
    congestions: new Counter({
      name: 'lockstep_congestions_total',
      help: 'Times a connection entered `congested` (its socket buffer passed the high-water mark).',
      registers: [registry],
    }),
    handlerFaults: new Counter({
      name: 'lockstep_handler_faults_total',
      help: 'Exceptions thrown by the application handler (each became an agent_error event).',
      registers: [registry],
    }),
    upgradesRefused: new Counter({
      name: 'lockstep_upgrades_refused_total',
      help: 'WebSocket upgrades refused before the handshake, by HTTP status and reason (path, origin, draining, max_connections, max_connections_per_address).',
      labelNames: ['status', 'reason'],
      registers: [registry],
    }),
  };
}
