/**
 * The agent the three examples share: it reports what it does through the run handle, and
 * lockstep orders, numbers and delivers each step to every tab of the user.
 */
import type { MessageHandler } from 'lockstep';

export const answerAgent: MessageHandler = async (message, run) => {
  run.thinking({ text: 'reading the question' });
  run.toolStarted('search-1', { tool: 'search', query: message.text });
  run.toolCompleted('search-1', { hits: 3 });
  run.complete({ text: `answer to: ${message.text}` });
};

/** Prints the one line scripts (and the consumer test) read to find the port. */
export function announce(port: number, wsPath: string): void {
  console.log(`listening on http://127.0.0.1:${port} (WebSocket: ws://127.0.0.1:${port}${wsPath})`);
}

/**
 * lockstep refuses to start without a token check. These examples verify HS256 JWTs when
 * LOCKSTEP_JWT_SECRET is set and otherwise name dev tokens (token = user id) explicitly —
 * replace this with your own `verifyToken` before exposing a server.
 */
export function devAuthUnlessSecret(): 'dev' | undefined {
  return process.env.LOCKSTEP_JWT_SECRET ? undefined : 'dev';
}
