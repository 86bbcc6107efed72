/** Starts a lockstep server on an ephemeral loopback port and builds client URLs for it. */
import { createLockstepServer, type LockstepServer } from '../../src/server/create-server.js';
import type { LockstepServerOptions, TraceEntry } from '../../src/server/options.js';
import type { EventFrame, ServerFrame } from '../../src/protocol/frames.js';

export interface Harness {
  server: LockstepServer;
  url: string;
  httpUrl: string;
  trace: TraceEntry[];
}

export async function startServer(options: LockstepServerOptions = {}): Promise<Harness> {
  const trace: TraceEntry[] = [];
  // Dev tokens unless the test names its own token check (the server refuses to guess).
  const auth = options.verifyToken === undefined && options.jwtSecret === undefined && options.jwt === undefined ? { auth: 'dev' as const } : {};
  const server = createLockstepServer({ port: 0, host: '127.0.0.1', ...auth, ...options, onTrace: (e) => trace.push(e) });
  const address = await server.listen();
  return {
    server,
    url: `ws://127.0.0.1:${address.port}/ws`,
    httpUrl: `http://127.0.0.1:${address.port}`,
    trace,
  };
}

export const RUN_EVENTS = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];

export function eventsOf(frames: ServerFrame[]): EventFrame[] {
  return frames.filter((f): f is EventFrame => f.type === 'event');
}

export { deferred } from '../support/deferred.js';
