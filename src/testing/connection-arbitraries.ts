/**
 * fast-check arbitraries for connection scenarios. Limits are drawn small by default so that
 * short scenarios reach every bound (early-frame overflow, bad-frame limit, rate limit, lag);
 * pass your own limits to fuzz the configuration you deploy.
 */
import fc from 'fast-check';
import type { ConnectionLimits } from '../../machines/connection.js';
import type { ConnectionCommand, ConnectionScenario } from './connection-scenario.js';

// fc.record draws a null prototype for half its objects by default; copying one (every scenario
// spreads its limits over the defaults) took 1.4–1.7 µs instead of 0.25, and machines and users
// never hand lockstep such limits. A scenario's content is the same, its draws one boolean fewer.
const PLAIN_OBJECTS = { noNullPrototype: true } as const;

/** Arbitrary of small connection limits that short scenarios can exhaust (early frames, bad frames, rate, lag). */
export const smallLimits: fc.Arbitrary<ConnectionLimits> = fc.record({
  authTimeoutMs: fc.integer({ min: 100, max: 5_000 }),
  backendTimeoutMs: fc.integer({ min: 100, max: 10_000 }),
  joinTimeoutMs: fc.integer({ min: 100, max: 10_000 }),
  heartbeatMs: fc.integer({ min: 100, max: 30_000 }),
  closeTimeoutMs: fc.integer({ min: 100, max: 5_000 }),
  maxEarlyFrames: fc.integer({ min: 1, max: 8 }),
  maxBadFrames: fc.integer({ min: 1, max: 4 }),
  messageRate: fc.integer({ min: 1, max: 5 }),
  messageBurst: fc.integer({ min: 1, max: 8 }),
  highWaterMarkBytes: fc.constant(1_000),
  maxLagEvents: fc.integer({ min: 1, max: 6 }),
  // Above the high-water mark, inside the stream events' buffered range (0 … 2 × 1000).
  maxOutgoingBytes: fc.integer({ min: 1_001, max: 2_500 }),
  // A few scenario frames (~40–60 bytes each) fill it, as maxEarlyFrames does.
  maxEarlyBytes: fc.integer({ min: 40, max: 400 }),
  // Scenarios report no server-wide or per-user facts: these bounds never bind here.
  maxEarlyBytesTotal: fc.constant(64 * 1024 * 1024),
  userMessageRate: fc.constant(40),
  userMessageBurst: fc.constant(80),
}, PLAIN_OBJECTS);

/** Arbitrary of one scenario command, weighted towards messages, results and stream events. */
export function connectionCommand(limits?: Partial<ConnectionLimits>): fc.Arbitrary<ConnectionCommand> {
  const highWater = limits?.highWaterMarkBytes ?? 1_000;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant({ kind: 'message' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'ping' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'garbage' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'binary' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'auth' } as const) },
    { weight: 3, arbitrary: fc.boolean().map((ok) => ({ kind: 'verify', ok }) as const) },
    { weight: 3, arbitrary: fc.boolean().map((ok) => ({ kind: 'backend', ok }) as const) },
    {
      weight: 6,
      arbitrary: fc
        .oneof(fc.constant(0), fc.constant(highWater), fc.integer({ min: 0, max: 2 * highWater }))
        .map((bufferedBytes) => ({ kind: 'streamEvent', bufferedBytes }) as const),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'drain' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'pong' } as const) },
    {
      weight: 3,
      // Short steps (the 5–150 ms windows that sleeps were tuned to) as often as long ones.
      arbitrary: fc
        .oneof(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 1, max: 30_000 }))
        .map((ms) => ({ kind: 'advance', ms }) as const),
    },
    { weight: 1, arbitrary: fc.constantFrom(1000, 1001, 1006).map((code) => ({ kind: 'peerClose', code }) as const) },
    { weight: 1, arbitrary: fc.constantFrom(1002, 1009).map((closeCode) => ({ kind: 'socketError', closeCode }) as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' } as const) },
  );
}

/**
 * Arbitrary of a command once the connection is ready, weighted towards the stream: events at
 * every send-buffer level, drains, messages, pongs and time (the modes of `ready.flow` and the
 * data path's switching between them), with the rarer endings.
 */
export function streamingCommand(limits?: Partial<ConnectionLimits>): fc.Arbitrary<ConnectionCommand> {
  const highWater = limits?.highWaterMarkBytes ?? 1_000;
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .oneof(
          { weight: 6, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.constant(highWater) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * highWater }) },
        )
        .map((bufferedBytes) => ({ kind: 'streamEvent', bufferedBytes }) as const),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'drain' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'message' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'ping' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'pong' } as const) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 150 }).map((ms) => ({ kind: 'advance', ms }) as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' } as const) },
    { weight: 1, arbitrary: connectionCommand(limits) },
  );
}

/** The handshake succeeding at once: what a streaming scenario starts with. */
const READY_PREFIX: ConnectionCommand[] = [{ kind: 'verify', ok: true }, { kind: 'backend', ok: true }];

/** Options of `connectionScenario`: fixed limits and the longest command sequence. */
export interface ScenarioArbitraryOptions {
  /** Fixed limits (your deployment's); default: small random limits. */
  limits?: ConnectionLimits;
  /** Longest command sequence. Default 40. */
  maxCommands?: number;
}

/** Arbitrary of whole connection scenarios, with small random limits or the ones you pass. */
export function connectionScenario(options: ScenarioArbitraryOptions = {}): fc.Arbitrary<ConnectionScenario> {
  // Commands depend on the limits only through highWaterMarkBytes, fixed in smallLimits, so
  // a plain record keeps both parts independently shrinkable.
  return fc.record({
    credentials: fc.constantFrom('upgrade' as const, 'authFrame' as const),
    limits: options.limits === undefined ? smallLimits : fc.constant(options.limits),
    priorEvents: fc.integer({ min: 0, max: 3 }),
    retainEvents: fc.integer({ min: 1, max: 10 }),
    // Half the scenarios are anything at all; the other half reach `ready` at once and stream,
    // so the flow modes and the data path are exercised as often as the handshake races.
    commands: fc.oneof(
      fc.array(connectionCommand(options.limits), { maxLength: options.maxCommands ?? 40 }),
      fc
        .array(streamingCommand(options.limits), { maxLength: Math.max(0, (options.maxCommands ?? 40) - READY_PREFIX.length) })
        .map((commands) => [...READY_PREFIX, ...commands]),
    ),
  }, PLAIN_OBJECTS);
}
