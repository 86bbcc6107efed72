/**
 * Optional peer dependencies (fast-check for `lockstep/testing` and `lockstep fuzz`, elkjs for
 * `lockstep viz`, @statelyai/inspect for `lockstep serve --inspect`, @ag-ui/client for
 * `lockstep/ag-ui`): loaded only by the feature that needs them, and when one is not installed
 * the feature throws LOCKSTEP_ERR_MISSING_PEER naming the package and the install line,
 * instead of Node's ERR_MODULE_NOT_FOUND from deep inside lockstep's dist/.
 */
import { LockstepError } from './protocol/errors.js';

/** The optional peers and the version ranges package.json's peerDependencies name. */
export const OPTIONAL_PEERS = {
  'fast-check': '^4.10.2',
  elkjs: '^0.12.1',
  '@statelyai/inspect': '^0.7.2',
  // lockstep/ag-ui: LockstepAgent extends @ag-ui/client's AbstractAgent; @ag-ui/core holds its types.
  '@ag-ui/client': '^1.0.0',
  '@ag-ui/core': '^1.0.0',
} as const;

/** An optional peer dependency of lockstep. */
export type OptionalPeer = keyof typeof OPTIONAL_PEERS;

/** The error a feature throws when `peer` is not installed. */
export function missingPeer(peer: OptionalPeer, feature: string, cause?: unknown): LockstepError {
  const error = new LockstepError(
    'LOCKSTEP_ERR_MISSING_PEER',
    `${feature} needs ${peer}, an optional peer dependency of lockstep that is not installed: npm install --save-dev ${peer}@${OPTIONAL_PEERS[peer]}`,
  );
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** Whether `error` is Node failing to find `peer` itself (not a module inside it, not another package). */
export function isMissingPackage(error: unknown, peer: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && (message.includes(`'${peer}'`) || message.includes(`'${peer}/`));
}

/** Runs `load` (a dynamic import that needs `peer`); a missing `peer` becomes LOCKSTEP_ERR_MISSING_PEER. */
export async function withOptionalPeer<T>(peer: OptionalPeer, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, peer)) throw missingPeer(peer, feature, error);
    throw error;
  }
}
