/**
 * Where a client's credentials come from, first match wins: the Authorization header, a
 * `lockstep.bearer.<token>` subprotocol entry, or (when neither) a first `auth` frame.
 * Pure functions over the upgrade request's headers, so the adapter decides nothing.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from './frames.js';

/** Where a connection's token came from: the Authorization header, the bearer subprotocol, or a first `auth` frame. */
export type CredentialSource = 'header' | 'subprotocol' | 'frame';
export interface UpgradeCredentials { token: string | undefined; source: CredentialSource }

export function parseSubprotocols(header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(',') : header ?? '';
  return joined.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}

export function credentialsFromUpgrade(headers: IncomingHttpHeaders): UpgradeCredentials {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match?.[1]) return { token: match[1], source: 'header' };
  }
  for (const protocol of parseSubprotocols(headers['sec-websocket-protocol'])) {
    if (protocol.startsWith(BEARER_SUBPROTOCOL_PREFIX) && protocol.length > BEARER_SUBPROTOCOL_PREFIX.length) {
      return { token: protocol.slice(BEARER_SUBPROTOCOL_PREFIX.length), source: 'subprotocol' };
    }
  }
  return { token: undefined, source: 'frame' };
}

/**
 * The subprotocol the server selects: `lockstep.v1` when offered, otherwise none. The
 * bearer entry is never echoed back (it would put the token in a response header).
 */
export function selectSubprotocol(offered: Iterable<string>): string | false {
  for (const protocol of offered) if (protocol === SUBPROTOCOL) return SUBPROTOCOL;
  return false;
}
