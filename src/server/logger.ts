/**
 * The logging surface lockstep needs: a pino logger (`pino()`, fastify's `app.log`) satisfies
 * it, and so does any object with these three methods. Pass yours as
 * `createLockstepServer({ logger })`; without one, lockstep is silent.
 */
export interface Logger {
  /** Lifecycle lines: connection ready, closed normally, resume replayed, caught up. */
  info(obj: object, msg?: string): void;
  /** Refusals (upgrade 403/404/503, 4401, 4408, 1013, 1008), slow consumers, failed resumes, handler exceptions. */
  warn(obj: object, msg?: string): void;
  /** Internal faults (1011). */
  error(obj: object, msg?: string): void;
}

/** The default: logs nothing (tests, and embedders that did not pass a logger). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
