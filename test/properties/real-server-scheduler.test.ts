/**
 * The real server, adapter and sockets under fc.scheduler(): token verification, backend
 * readiness (which may fail), each client's frames and the clock's advances are scheduler
 * tasks, so fast-check chooses the interleaving and shrinks a failure to a minimal schedule.
 * Each client's frames form one sequence: TCP keeps a socket's frames in order, so only
 * orders a real network can produce are explored. Checked: I1, I3, I4, I9, I10.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { TestClient } from '../integration/client.js';
import { eventsOf, startServer } from '../integration/harness.js';
import { checkStreamHistory } from '../../src/testing/history-checker.js';
import { checkRunGrammar } from '../../src/testing/run-grammar.js';
import type { ServerFrame } from '../../src/protocol/frames.js';
import { realSocketRuns } from './real-socket-runs.js';

type ClientFrame = 'message' | 'ping' | 'garbage';

const clientPlan = fc.record({
  credentials: fc.constantFrom('upgrade' as const, 'authFrame' as const),
  frames: fc.array(fc.constantFrom<ClientFrame>('message', 'message', 'ping', 'garbage'), { maxLength: 4 }),
});

// closeTimeout is beyond every advance: a simulated jump past it while the close frame is still in
// flight would terminate a socket that real time never would (the pure properties cover it).
const LIMITS = { authTimeoutMs: 1_000, backendTimeoutMs: 1_000, heartbeatMs: 60_000, closeTimeoutMs: 60_000 };

function complete(frames: ServerFrame[], plan: { frames: ClientFrame[] }): boolean {
  const count = (kind: ClientFrame) => plan.frames.filter((f) => f === kind).length;
  const of = (type: ServerFrame['type']) => frames.filter((f) => f.type === type).length;
  return (
    of('ready') === 1 &&
    of('ack') === count('message') &&
    eventsOf(frames).filter((e) => e.event === 'agent_completed').length === count('message') &&
    of('pong') === count('ping') &&
    of('error') === count('garbage')
  );
}

describe('I1, I3, I4, I9, I10 on the real server under a scheduler', () => {
  it('any interleaving of verification, readiness, frames and time keeps every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(clientPlan, { minLength: 1, maxLength: 3 }),
        fc.array(fc.boolean(), { maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 1_500 }), { maxLength: 3 }),
        async (s, plans, readiness, advances) => {
          const clock = new SimulatedClock();
          let readyCalls = 0;
          const h = await startServer({
            clock,
            limits: LIMITS,
            verifyToken: (token) => s.schedule(Promise.resolve({ userId: token }), `verify ${token}`),
            // Readiness answers per call, in call order: ready unless this run says it fails. The
            // failure is thrown after the scheduler released the task, never before.
            ready: () => {
              const fails = readiness[readyCalls++] === false;
              return s.schedule(Promise.resolve(fails), fails ? 'backend fails' : 'backend ready').then((failed) => {
                if (failed) throw new Error('backend down');
              });
            },
          });
          const clients = plans.map((plan, i) => {
            const token = `user${i}`;
            const client = new TestClient(h.url, {
              protocols: plan.credentials === 'upgrade' ? ['lockstep.v1', `lockstep.bearer.${token}`] : ['lockstep.v1'],
            });
            const frames = [
              ...(plan.credentials === 'authFrame' ? [{ type: 'auth', token }] : []),
              ...plan.frames.map((kind, n) =>
                kind === 'message' ? { type: 'message', id: `m${n}`, text: `hi ${n}` } : kind === 'ping' ? { type: 'ping', id: `p${n}` } : '{oops',
              ),
            ];
            s.scheduleSequence([
              { label: `${token} open`, builder: () => client.opened },
              ...frames.map((frame, n) => ({
                label: `${token} sends ${typeof frame === 'string' ? 'garbage' : `${frame.type}#${n}`}`,
                builder: async () => client.send(frame),
              })),
            ]);
            return client;
          });
          for (const ms of advances) void s.schedule(Promise.resolve(ms), `advance ${ms} ms`).then((d) => clock.increment(d));

          const settled = clients.map(
            (client, i) =>
              new Promise<void>((resolve) => {
                void client.closed.then(() => resolve());
                client.until(() => complete(client.frames, plans[i] ?? { frames: [] })).then(resolve, () => {});
              }),
          );
          await s.waitFor(Promise.all(settled));

          const closes = await Promise.all(
            clients.map(async (client) => (client.ws.readyState === client.ws.OPEN ? { byServer: false, ...(await client.close()) } : { byServer: true, ...(await client.closed) })),
          );
          await h.server.close();

          clients.forEach((client, i) => {
            const plan = plans[i] ?? { frames: [], credentials: 'upgrade' };
            const [first] = client.frames;
            const close = closes[i];
            // I1: ready first; the trace shows the handler ran only in ready.
            if (first !== undefined) expect(first.type).toBe('ready');
            // I9: never 1011; a failed readiness is 1013.
            expect(close?.code).not.toBe(1011);
            // I3: acks in send order; all of them unless the server closed with an explicit code.
            const acked = client.frames.flatMap((f) => (f.type === 'ack' ? [f.id] : []));
            const sent = plan.frames.flatMap((kind, n) => (kind === 'message' ? [`m${n}`] : []));
            expect(acked).toEqual(sent.slice(0, acked.length));
            if (close?.byServer) expect([1000, 1001, 1008, 1013, 4401, 4408]).toContain(close.code);
            else expect(complete(client.frames, plan)).toBe(true);
            // I4 and I6: consecutive seqs from ready.lastSeq, each run a word of the grammar.
            const events = eventsOf(client.frames);
            expect(checkStreamHistory(events, first?.type === 'ready' ? first.lastSeq : 0)).toEqual([]);
            const runs = new Map<string, typeof events>();
            for (const e of events) runs.set(e.runId, [...(runs.get(e.runId) ?? []), e]);
            for (const run of runs.values()) {
              expect(checkRunGrammar(run.map((e) => ({ event: e.event, toolCallId: (e.data as { toolCallId?: string }).toolCallId })))).toEqual([]);
            }
          });
          for (const entry of h.trace) if (entry.kind === 'handler') expect(entry.state).toBe('ready');
          // I10: every actor reached closed.
          expect(h.server.liveConnections).toBe(0);
        },
      ),
      { numRuns: realSocketRuns(100) },
    );
  });
});
