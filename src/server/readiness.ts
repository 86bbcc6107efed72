/**
 * GET /ready: may this node take new connections? Liveness (/health) says the process
 * answers; readiness says a handshake would succeed now — the backend's `ready()` resolved,
 * the scale-out backend answers, and the server is not draining. Each probe is bounded, so a
 * hung backend turns into a 503 within READY_PROBE_MS instead of a hung request; concurrent
 * probes share one check, so a flood of /ready requests starts at most one at a time.
 */

/** How long a probe waits for `ready()` and `scaleOut.available()`; below Kubernetes' 1 s default probe timeout. */
export const READY_PROBE_MS = 500;

export type NotReadyReason = 'draining' | 'backend_not_ready' | 'backend_failed' | 'scale_out_unavailable';
export type Readiness = { ready: true } | { ready: false; reason: NotReadyReason };

export interface ReadinessDeps {
  isShuttingDown: () => boolean;
  ready: () => Promise<void>;
  available: (() => Promise<void>) | undefined;
}

/** Settles with 'ok', 'failed' or 'timeout' — never hangs, never rejects. */
function settleWithin(start: () => Promise<void>, ms: number): Promise<'ok' | 'failed' | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
    let pending: Promise<void>;
    try {
      pending = Promise.resolve(start());
    } catch {
      pending = Promise.reject(new Error('threw'));
    }
    pending.then(
      () => resolve('ok'),
      () => resolve('failed'),
    ).finally(() => clearTimeout(timer));
  });
}

export function createReadinessProbe(deps: ReadinessDeps, probeMs = READY_PROBE_MS): () => Promise<Readiness> {
  let inflight: Promise<Readiness> | undefined;
  const check = async (): Promise<Readiness> => {
    const backend = await settleWithin(deps.ready, probeMs);
    if (backend === 'timeout') return { ready: false, reason: 'backend_not_ready' };
    if (backend === 'failed') return { ready: false, reason: 'backend_failed' };
    if (deps.available && (await settleWithin(deps.available, probeMs)) !== 'ok') {
      return { ready: false, reason: 'scale_out_unavailable' };
    }
    return { ready: true };
  };
  return async () => {
    if (deps.isShuttingDown()) return { ready: false, reason: 'draining' };
    inflight ??= check().finally(() => {
      inflight = undefined;
    });
    const result = await inflight;
    // Draining may have begun while the backend answered.
    return deps.isShuttingDown() ? { ready: false, reason: 'draining' } : result;
  };
}
