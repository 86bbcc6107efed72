/**
 * A simulated backend for `lockstep serve --backend-delay-ms N --backend-fail`: it becomes
 * ready N ms after start, or never. The timer stands for a real dependency warming up (an
 * agent supervisor, caches); it orders nothing — the handshake machine waits on `ready()`.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface DemoBackendOptions { delayMs: number; fail: boolean }

export function demoBackend(options: DemoBackendOptions): () => Promise<void> {
  const warmUp: Promise<void> = options.fail
    ? Promise.reject(new Error('backend failed to start (--backend-fail)'))
    : options.delayMs > 0
      ? delay(options.delayMs).then(() => undefined)
      : Promise.resolve();
  warmUp.catch(() => {}); // observed by every handshake; never an unhandled rejection
  return () => warmUp;
}
