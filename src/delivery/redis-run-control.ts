/**
 * Cross-node cancel and approval answers in Redis: the request is written to the run's hash
 * by a script that also checks the run is open for that user (its lease), then announced on
 * one pub/sub channel for every node. Pub/sub is a hint; the hash is the record: after the
 * subscriber reconnects, every node re-reads the records of its own open runs.
 */
import type { Redis } from 'ioredis';
import type { ApprovalAnswer } from '../agent/run-handle.js';
import type { RedisKeys } from './redis-keys.js';
import { CANCEL_RUN, CLAIM_ANSWER } from './redis-scripts.js';
import type { AnswerClaim, RunControlRecord, SharedRunControl } from './shared-run-control.js';

interface ControlCommands {
  lockstepCancelRun(leases: string, run: string, member: string, channel: string, runId: string): Promise<number>;
  lockstepClaimAnswer(leases: string, run: string, member: string, toolCallId: string, answer: string, channel: string, runId: string): Promise<[number, string] | null>;
}

function parseAnswer(json: string): ApprovalAnswer | undefined {
  try {
    const value = JSON.parse(json) as Partial<ApprovalAnswer>;
    if (typeof value.approved !== 'boolean' || (value.reason !== 'user' && value.reason !== 'timeout' && value.reason !== 'run_ended')) return undefined;
    return value.data === undefined ? { approved: value.approved, reason: value.reason } : { approved: value.approved, reason: value.reason, data: value.data };
  } catch {
    return undefined;
  }
}

export class RedisRunControl implements SharedRunControl {
  readonly #commands: Redis & ControlCommands;
  readonly #subscriber: Redis;
  readonly #keys: RedisKeys;
  readonly #listeners: Array<(runId: string | undefined) => void> = [];

  /** `subscriber`: the pub/sub connection (shared with the fanout); call `resubscribe` after it reconnects. */
  constructor(commands: Redis, subscriber: Redis, keys: RedisKeys) {
    commands.defineCommand('lockstepCancelRun', { lua: CANCEL_RUN, numberOfKeys: 2 });
    commands.defineCommand('lockstepClaimAnswer', { lua: CLAIM_ANSWER, numberOfKeys: 2 });
    this.#commands = commands as Redis & ControlCommands;
    this.#subscriber = subscriber;
    this.#keys = keys;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === keys.runControl) for (const listener of this.#listeners) listener(message);
    });
  }

  /** Subscribes to the control channel (at start and after every reconnect), then asks for a full look. */
  async resubscribe(): Promise<void> {
    await this.#subscriber.subscribe(this.#keys.runControl);
    for (const listener of this.#listeners) listener(undefined);
  }

  async cancel(userId: string, runId: string): Promise<boolean> {
    const done = await this.#commands.lockstepCancelRun(this.#keys.leases, this.#keys.run(runId), `${runId}\n${userId}`, this.#keys.runControl, runId);
    return done === 1;
  }

  async claimAnswer(userId: string, runId: string, toolCallId: string, answer: ApprovalAnswer): Promise<AnswerClaim | undefined> {
    const claim = await this.#commands.lockstepClaimAnswer(
      this.#keys.leases, this.#keys.run(runId), `${runId}\n${userId}`, toolCallId, JSON.stringify(answer), this.#keys.runControl, runId,
    );
    if (claim === null) return undefined;
    const winning = parseAnswer(claim[1]);
    return winning === undefined ? undefined : { won: claim[0] === 1, answer: winning };
  }

  async read(runId: string, toolCallIds: readonly string[]): Promise<RunControlRecord> {
    const values = await this.#commands.hmget(this.#keys.run(runId), 'cancel', ...toolCallIds.map((id) => `answer:${id}`));
    const answers = new Map<string, ApprovalAnswer>();
    toolCallIds.forEach((id, i) => {
      const json = values[i + 1];
      const answer = json === null || json === undefined ? undefined : parseAnswer(json);
      if (answer !== undefined) answers.set(id, answer);
    });
    return { cancelled: values[0] === '1', answers };
  }

  onChange(listener: (runId: string | undefined) => void): void {
    this.#listeners.push(listener);
  }
}
