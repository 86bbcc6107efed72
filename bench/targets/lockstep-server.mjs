/**
 * lockstep under test: the full protocol (auth from the upgrade header, handshake machine,
 * JSON frames, ack, a run with `agent_started` + `agent_completed` per message, per-user
 * `seq`), with an instantly-ready backend and a handler that does nothing. Limits that would
 * throttle a load test on purpose (the connection's and the user's message buckets, per-user,
 * per-address and total connection caps) are lifted; the backpressure bounds stay at their
 * defaults. Pushed runs (fan-out, streaming) go through `server.startRun` and its RunHandle.
 */
import { createLockstepServer } from '../../dist/src/index.js';

export async function startTarget() {
  const server = createLockstepServer({
    auth: 'dev', // the load clients authenticate as user ids; the check is the same work as a verifier's
    host: '127.0.0.1',
    port: 0,
    ready: async () => {},
    handler: () => undefined,
    // Rate limit lifted by an unreachable burst; the refill rate stays low so the bucket's refill
    // timer ticks once a second (a rate of 1e9/s would tick every millisecond per connection).
    // The same for the bucket a user's tabs share.
    limits: { messageRate: 1, messageBurst: 1_000_000_000, userMessageRate: 1, userMessageBurst: 1_000_000_000 },
    maxConnectionsPerUser: 1_000_000,
    // Every load connection comes from 127.0.0.1, and the memory scenario holds 10,000 at once.
    maxConnections: 1_000_000,
    maxConnectionsPerAddress: 1_000_000,
  });
  const { port } = await server.listen();
  return {
    port,
    connections: () => server.liveConnections,
    /** A server-started run: lockstep's real API (RunHandle, checked by the run machine); fan-out and streaming use it (workloads.mjs). */
    startRun: (userId) => server.startRun(userId),
    close: () => server.close(),
  };
}
