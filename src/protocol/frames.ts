/** Frame shapes of protocol lockstep.v1 (docs/protocol.md is the prose version). */

export const SUBPROTOCOL = 'lockstep.v1';
export const BEARER_SUBPROTOCOL_PREFIX = 'lockstep.bearer.';

export const AGENT_EVENTS = [
  'agent_started',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_completed',
  'agent_error',
] as const;
export type AgentEventName = (typeof AGENT_EVENTS)[number];

// Client → server
export interface AuthFrame { type: 'auth'; token: string }
export interface MessageFrame { type: 'message'; id: string; text: string }
export interface PingFrame { type: 'ping'; id?: string }
export type ClientFrame = AuthFrame | MessageFrame | PingFrame;

/** `?epoch=<e>&lastSeq=<n>` on the upgrade URL. */
export interface ResumeRequest { epoch: string; lastSeq: number }

// Server → client
/** Why a requested resume could not be honoured: another log instance, or events aged out. */
export type ResumeFailure = 'epoch' | 'gap';

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
export interface PongFrame { type: 'pong'; id?: string }
/** One event of a user's stream, as stored in the log and as sent (plus `type`). */
export interface StreamEvent {
  seq: number;
  runId: string;
  event: AgentEventName;
  data: unknown;
  ts: number;
}
export interface EventFrame extends StreamEvent { type: 'event' }
export interface ErrorFrame { type: 'error'; code: string; message: string; ref?: string }
export type ServerFrame = ReadyFrame | AckFrame | PongFrame | EventFrame | ErrorFrame;
