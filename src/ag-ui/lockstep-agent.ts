/**
 * `LockstepAgent`: an @ag-ui/client agent whose transport is a lockstep connection. An AG-UI
 * front end (CopilotKit, or `@ag-ui/client` directly) calls `runAgent()` as with `HttpAgent`;
 * the last user message goes out through lockstep/client (kept in its outbox until acked, so it
 * runs exactly once across reconnects), and the run's lockstep events come back — once each,
 * in seq order, across drops and resumes — mapped to AG-UI events by ./outbound-mapping.ts.
 *
 * After a resume, consecutive deltas the client missed arrive coalesced (one
 * TEXT_MESSAGE_CONTENT or TOOL_CALL_ARGS for the range, the same text). A resume that could not
 * be honoured (the run's end may have been missed) fails the AG-UI run with an error instead
 * of a silent gap. Unsubscribing before the run ended (`abortRun()`) stops delivery and
 * cancels the lockstep run (a `cancel` frame, when connected): the handler's signal aborts.
 */
import { AbstractAgent, runHttpRequest, type AgentConfig, type BaseEvent, type RunAgentInput } from '@ag-ui/client';
import type { LockstepClient } from '../client/create-client.js';
import type { ClientRunEvent } from '../client/run-book.js';
import { LockstepError } from '../protocol/errors.js';
import { LockstepToAgUi } from './outbound-mapping.js';

/** Options of {@link LockstepAgent}: AG-UI's agent config and the lockstep client to run over. */
export interface LockstepAgentConfig extends AgentConfig {
  /** A client from `createLockstepClient` (lockstep/client): its connection, outbox and resume are used. */
  client: LockstepClient;
}

/** The text of a message's content: a string, or the text parts of a list of parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (part !== null && typeof part === 'object' && (part as { type?: unknown }).type === 'text' ? String((part as { text?: unknown }).text ?? '') : '')).join('');
}

const TERMINAL = new Set(['agent_completed', 'agent_error']);

/** What `run()` returns: the Observable type of the rxjs copy @ag-ui/client itself uses. */
type AgUiObservable = ReturnType<AbstractAgent['run']>;
/** The subscriber an Observable's subscribe function is given (the part used here). */
interface EventSubscriber {
  readonly closed: boolean;
  next(event: BaseEvent): void;
  error(error: unknown): void;
  complete(): void;
}
type ObservableClass = new (subscribe: (subscriber: EventSubscriber) => (() => void) | undefined) => AgUiObservable;

/**
 * rxjs's Observable class, as @ag-ui/client has it. @ag-ui/client pins one rxjs version, which
 * is often not the app's (npm then nests a second copy): an Observable of another copy fails
 * AG-UI's types and risks its operators. So the class is taken from an Observable that
 * @ag-ui/client made itself — `runHttpRequest` builds a lazy one (nothing is fetched until a
 * subscription, and none is made) — and lockstep needs no rxjs of its own.
 */
let observableClass: ObservableClass | undefined;
function agUiObservableClass(): ObservableClass {
  observableClass ??= (Object.getPrototypeOf(runHttpRequest(() => new Promise<Response>(() => {}))) as { constructor: ObservableClass }).constructor;
  return observableClass;
}

/** An @ag-ui/client agent that runs over a lockstep connection (see the module comment above). */
export class LockstepAgent extends AbstractAgent {
  readonly client: LockstepClient;
  /** The run `run()` is delivering now: `abortRun()` cancels it. */
  #active: { runId: string | undefined; ended: boolean } | undefined;

  constructor(config: LockstepAgentConfig) {
    const { client, ...agentConfig } = config;
    super(agentConfig);
    this.client = client;
  }

  /**
   * Stops the run in progress (AbstractAgent's no-op by default): cancels the lockstep run (a
   * `cancel` frame when connected; the handler's `context.signal` aborts, the run ends
   * `cancelled`) and detaches the front end from it.
   */
  override abortRun(): void {
    const active = this.#active;
    if (active?.runId !== undefined && !active.ended && this.client.state === 'ready') this.client.cancel(active.runId);
    void this.detachActiveRun();
  }

  /** Sends the last user message of `input` and yields its run's events as AG-UI events. */
  override run(input: RunAgentInput): AgUiObservable {
    const Observable = agUiObservableClass();
    return new Observable((subscriber) => {
      const user = [...input.messages].reverse().find((m) => m.role === 'user');
      if (user === undefined) {
        subscriber.error(new LockstepError('LOCKSTEP_ERR_INVALID_ARGUMENT', 'LockstepAgent.run(): the input has no user message to send'));
        return undefined;
      }
      const mapper = new LockstepToAgUi({ threadId: input.threadId, runId: input.runId });
      let messageId: string | undefined;
      let runId: string | undefined;
      let lastSeq = 0;
      const active = { runId: undefined as string | undefined, ended: false };
      this.#active = active;
      const deliver = (event: Pick<ClientRunEvent, 'seq' | 'event' | 'data'>) => {
        // Each event once: the client emits in seq order, and the events before the ack come from the run book.
        if (subscriber.closed || event.seq <= lastSeq) return;
        lastSeq = event.seq;
        for (const agUi of mapper.map(event)) subscriber.next(agUi as unknown as BaseEvent);
        if (TERMINAL.has(event.event)) {
          active.ended = true;
          subscriber.complete();
        }
      };
      const off = [
        this.client.on('ack', (ack) => {
          if (ack.id !== messageId) return;
          runId = ack.runId;
          active.runId = ack.runId;
          for (const event of this.client.runs.find((r) => r.runId === runId)?.events ?? []) deliver(event);
        }),
        this.client.on('event', (frame) => {
          if (runId !== undefined && frame.runId === runId) deliver(frame);
        }),
        this.client.on('missed', (missed) => {
          if (runId !== undefined && missed.interruptedRuns.includes(runId)) {
            subscriber.error(new Error(`lockstep could not resume run ${runId} without a gap (${missed.reason}): its end may have been missed`));
          }
        }),
        this.client.on('error', (report) => {
          if (report.ref !== undefined && report.ref === messageId) subscriber.error(new Error(`lockstep refused the message: ${report.code} ${report.message}`));
        }),
      ];
      try {
        messageId = this.client.send(textOf(user.content), { threadId: input.threadId, ...(input.forwardedProps === undefined ? {} : { metadata: input.forwardedProps }) });
      } catch (error) {
        subscriber.error(error);
      }
      return () => {
        for (const unsubscribe of off) unsubscribe();
      };
    });
  }
}
