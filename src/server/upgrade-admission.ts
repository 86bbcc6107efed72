/**
 * The global and per-remote-address connection caps, and the set of sockets lockstep holds
 * from the moment it accepts an upgrade until the socket closes (so shutdown can destroy
 * half-open upgrades too). Counted per TCP socket, before the WebSocket handshake: a refused
 * upgrade costs no actor, no ws object, no frame buffer.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export type Admission = { admitted: true } | { admitted: false; status: 429 | 503; reason: 'max_connections' | 'max_connections_per_address' };

export interface AdmissionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  trustProxy: boolean;
}

/**
 * The remote address a cap counts: the TCP peer, or — behind a trusted proxy — the last
 * X-Forwarded-For entry (the address the nearest proxy saw; earlier entries are the client's own words).
 */
export function remoteAddressOf(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header.join(',') : header;
    const last = value?.split(',').map((part) => part.trim()).filter((part) => part.length > 0).at(-1);
    if (last !== undefined) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

export class UpgradeAdmission {
  readonly #limits: AdmissionLimits;
  readonly #perAddress = new Map<string, number>();
  /** Every admitted socket, with the address it is counted under. */
  readonly #sockets = new Map<Duplex, string>();
  // One close listener for every socket (`this` is the socket): no closure per connection.
  readonly #release: (this: Duplex) => void;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
    this.#release = releaseFrom(this);
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Admits the socket (counted until it closes) or says which cap refuses it. */
  admit(socket: Duplex, address: string): Admission {
    if (this.#sockets.size >= this.#limits.maxConnections) return { admitted: false, status: 503, reason: 'max_connections' };
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= this.#limits.maxConnectionsPerAddress) {
      return { admitted: false, status: 429, reason: 'max_connections_per_address' };
    }
    this.#sockets.set(socket, address);
    this.#perAddress.set(address, fromAddress + 1);
    // `on`, not `once`: a socket closes once, and `once` would wrap the listener per socket.
    socket.on('close', this.#release);
    return ADMITTED;
  }

  /** @internal `socket` closed: it no longer counts. */
  forget(socket: Duplex): void {
    const address = this.#sockets.get(socket);
    if (address === undefined) return;
    this.#sockets.delete(socket);
    const left = (this.#perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(address, left);
    else this.#perAddress.delete(address);
  }

  /** Shutdown's last step: every admitted socket still open (upgraded or half-open) is destroyed. */
  destroyAll(): void {
    for (const socket of this.#sockets.keys()) socket.destroy();
  }
}

const ADMITTED: Admission = { admitted: true };

/** The close listener of `admission`'s sockets: `this` is the socket that closed. */
function releaseFrom(admission: UpgradeAdmission): (this: Duplex) => void {
  return function release(this: Duplex) {
    admission.forget(this);
  };
}
