/** Frame shapes of protocol lockstep.v1 (docs/protocol.md is the prose version). */

/** The WebSocket subprotocol lockstep selects when offered. */
export const SUBPROTOCOL = 'lockstep.v1';
/** A subprotocol entry `lockstep.bearer.<token>` carries the token (browsers cannot set headers). */
export const BEARER_SUBPROTOCOL_PREFIX = 'lockstep.bearer.';

/** The agent event names, in the order a run can produce them. */
export const AGENT_EVENTS = [
  'agent_started',
  'agent_thinking',
  'text_delta',
  'tool_executing',
  'tool_args_delta',
  'approval_requested',
  'approval_resolved',
  'tool_completed',
  'agent_completed',
  'agent_error',
] as const;
/** One of {@link AGENT_EVENTS}. */
export type AgentEventName = (typeof AGENT_EVENTS)[number];

// Client → server
/** Client → server: the token, as the first frame when the upgrade carried none. */
export interface AuthFrame { type: 'auth'; token: string }
/**
 * Client → server: a chat message; `id` makes it exactly-once across reconnects. `threadId`
 * (1–128 characters) and `metadata` (a JSON object of at most 16 KiB) are optional and reach
 * the handler unchanged; the run carries the thread (`agent_started` `data.threadId`).
 */
export interface MessageFrame { type: 'message'; id: string; text: string; threadId?: string; metadata?: Record<string, unknown> }
/** Client → server: an application-level ping, answered with a pong. */
export interface PingFrame { type: 'ping'; id?: string }
/**
 * Client → server: stop one of the user's open runs (the stop button), from any of its tabs.
 * The run ends with `agent_error` `{ reason: "cancelled" }`; a run that is not open (finished,
 * unknown, another user's) gets `LOCKSTEP_E_RUN_NOT_CANCELLABLE` with `ref` = the run id.
 */
export interface CancelFrame { type: 'cancel'; runId: string }
/**
 * Client → server: the user's answer to an `approval_requested` event of one of its open runs,
 * from any of its tabs. The first answer wins: the run gets `approval_resolved`; a later one (or
 * one for an approval that is not pending: answered, timed out, unknown, another user's) gets
 * `LOCKSTEP_E_APPROVAL_NOT_PENDING` with `ref` = the run id. `data` (any JSON, at most 16 KiB)
 * reaches the handler with the answer.
 */
export interface ApproveFrame { type: 'approve'; runId: string; toolCallId: string; approved: boolean; data?: unknown }
/** Every frame a client may send. */
export type ClientFrame = AuthFrame | MessageFrame | PingFrame | CancelFrame | ApproveFrame;

/** `?epoch=<e>&lastSeq=<n>` on the upgrade URL. */
export interface ResumeRequest { epoch: string; lastSeq: number }

// Server → client
/** Why a requested resume could not be honoured: another log instance, or events aged out. */
export type ResumeFailure = 'epoch' | 'gap';

/** Server → client: always the first frame; the handshake is accepted and the stream position known. */
export interface ReadyFrame {
  type: 'ready';
  userId: string;
  connectionId: string;
  epoch: string;
  lastSeq: number;
  resumed: boolean;
  /** Present when the client asked to resume and could not be: it continues live. */
  reason?: ResumeFailure;
}
/** `duplicate: true` when the id was already accepted: `runId` is the original run's, no new run starts. */
export interface AckFrame { type: 'ack'; id: string; runId: string; duplicate?: true }
/** Server → client: the answer to a ping frame. */
export interface PongFrame { type: 'pong'; id?: string }
/** One event of a user's stream, as stored in the log and as sent (plus `type`). */
export interface StreamEvent {
  /**
   * The last seq this event covers. A coalesced delta (`fromSeq` present, only in what a
   * resume or a catch-up hands over) covers `fromSeq..seq`: consecutive deltas of one run and
   * kind, its `data.delta` their concatenation.
   */
  seq: number;
  /** Present only on a coalesced delta: the first seq it covers (docs/protocol.md "Coalesced deltas"). */
  fromSeq?: number;
  runId: string;
  event: AgentEventName;
  data: unknown;
  ts: number;
}
/** Server → client: one event of the user's stream. */
export interface EventFrame extends StreamEvent { type: 'event' }
/** Server → client: a refused frame, with a `LOCKSTEP_E_*` code and the refused message's id as `ref`. */
export interface ErrorFrame { type: 'error'; code: string; message: string; ref?: string }
/** Server → client: a token refresh (`auth` frame after ready) was accepted; `expiresAt` (ms epoch) when the token expires. */
export interface AuthOkFrame { type: 'auth_ok'; userId: string; expiresAt?: number }
/** Every frame the server sends. */
export type ServerFrame = ReadyFrame | AckFrame | PongFrame | EventFrame | ErrorFrame | AuthOkFrame;
