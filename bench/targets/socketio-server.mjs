/** socket.io, websocket transport only: echo with emit, fan-out with one room per user. */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

export async function startTarget() {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  io.on('connection', (socket) => {
    const user = String(socket.handshake.auth?.user ?? 'anon');
    void socket.join(user);
    socket.on('m', (payload) => socket.emit('r', payload));
  });
  const seqs = new Map();
  let nextRun = 0;
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: http.address().port,
    connections: () => io.engine.clientsCount,
    /** A pushed run with no protocol work: `ev` messages numbered per user, to the user's room. */
    startRun(user) {
      const runId = `push.${nextRun++}`;
      const emit = (event, data) => {
        const seq = (seqs.get(user) ?? 0) + 1;
        seqs.set(user, seq);
        io.to(user).emit('ev', { type: 'event', seq, runId, event, data });
      };
      emit('agent_started', {});
      return {
        runId,
        thinking: (data) => emit('agent_thinking', data),
        text: (delta) => emit('text_delta', { delta }),
        complete: (data) => emit('agent_completed', data),
      };
    },
    fanout(users, events, done) {
      let round = 0;
      const step = () => {
        round += 1;
        for (const user of users) io.to(user).emit('ev', { type: 'event', seq: round, event: 'agent_thinking', data: { n: round } });
        if (round < events) setImmediate(step);
        else done();
      };
      setImmediate(step);
    },
    close: () => new Promise((resolve) => {
      io.disconnectSockets(true);
      io.close(() => resolve());
    }),
  };
}
