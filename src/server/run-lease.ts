/**
 * Runs the lease keeper machine for a node: its named delay drives renewal and expiry, its
 * effects call the log. A renewal or sweep that fails (Redis away) is skipped and logged;
 * the next tick tries again, and leases are judged by Redis time, never by this node's.
 */
import { createActor, type Actor } from 'xstate';
import { leaseKeeperMachine } from '../../machines/lease-keeper.js';
import type { Clock } from './options.js';

export interface LeaseStore {
  renewLeases(): Promise<void>;
  sweepExpiredLeases(): Promise<number>;
}

export class RunLeases {
  readonly #store: LeaseStore;
  readonly #renewMs: number;
  readonly #canReach: () => boolean;
  readonly #onError: (error: unknown) => void;
  #keeper: Actor<typeof leaseKeeperMachine> | undefined;

  /** `canReach`: false while the backend is away, so ticks do not pile up in a queue. */
  constructor(store: LeaseStore, options: { renewMs: number; canReach: () => boolean; onError?: (error: unknown) => void }) {
    this.#store = store;
    this.#renewMs = options.renewMs;
    this.#canReach = options.canReach;
    this.#onError = options.onError ?? (() => {});
  }

  start(clock?: Clock): void {
    if (this.#keeper !== undefined) return;
    const machine = leaseKeeperMachine.provide({
      actions: {
        renewLeases: () => {
          if (this.#canReach()) this.#store.renewLeases().catch(this.#onError);
        },
        sweepExpiredLeases: () => {
          if (this.#canReach()) this.#store.sweepExpiredLeases().catch(this.#onError);
        },
      },
    });
    this.#keeper = createActor(machine, { input: { renewMs: this.#renewMs }, ...(clock ? { clock } : {}) }).start();
  }

  stop(): void {
    this.#keeper?.send({ type: 'keeper.stop' });
  }
}
