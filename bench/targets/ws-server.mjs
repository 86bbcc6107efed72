/** Raw `ws`: echo each message back as is (no parsing, no guarantees). */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

export async function startTarget() {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const byUser = new Map();
  const seqs = new Map();
  let nextRun = 0;
  wss.on('connection', (ws, req) => {
    const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? 'anon';
    let tabs = byUser.get(user);
    if (!tabs) byUser.set(user, (tabs = new Set()));
    tabs.add(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', () => {
      tabs.delete(ws);
      if (tabs.size === 0) byUser.delete(user);
    });
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: http.address().port,
    connections: () => wss.clients.size,
    /** A pushed run with no protocol work: event frames numbered per user, to every tab. */
    startRun(user) {
      const runId = `push.${nextRun++}`;
      const emit = (event, data) => {
        const seq = (seqs.get(user) ?? 0) + 1;
        seqs.set(user, seq);
        const frame = JSON.stringify({ type: 'event', seq, runId, event, data });
        for (const ws of byUser.get(user) ?? []) ws.send(frame);
      };
      emit('agent_started', {});
      return {
        runId,
        thinking: (data) => emit('agent_thinking', data),
        text: (delta) => emit('text_delta', { delta }),
        complete: (data) => emit('agent_completed', data),
      };
    },
    // Same schedule as the lockstep target: one event per user per round.
    fanout(users, events, done) {
      let round = 0;
      const step = () => {
        round += 1;
        for (const user of users) {
          const frame = JSON.stringify({ type: 'event', seq: round, event: 'agent_thinking', data: { n: round } });
          for (const ws of byUser.get(user) ?? []) ws.send(frame);
        }
        if (round < events) setImmediate(step);
        else done();
      };
      setImmediate(step);
    },
    close: () => new Promise((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.close(() => resolve());
    }),
  };
}
