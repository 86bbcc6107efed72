/** Types for lockstep-client.js (the demo page ships plain JS; tests import it from TypeScript). */
import type { AckFrame, ErrorFrame, EventFrame, ReadyFrame } from '../src/protocol/frames.js';

export interface LockstepClientHandlers {
  onConnecting?(info: { url: string; attempt: number; resuming: boolean }): void;
  onOpen?(): void;
  /** `asked` is the resume point this connection asked for, if any. */
  onReady?(ready: ReadyFrame, asked: { epoch: string; lastSeq: number | undefined } | undefined): void;
  onAck?(ack: AckFrame): void;
  /** `expected` is the seq that would continue the stream without a gap (undefined before ready); a coalesced delta continues it when its `fromSeq` is `expected`. */
  onEvent?(event: EventFrame, expected: number | undefined): void;
  onServerError?(error: ErrorFrame): void;
  onProtocolError?(message: string): void;
  onClose?(info: { code: number; reason: string }): void;
  onRetry?(info: { delay: number; attempt: number }): void;
}

/** The browser WebSocket's shape, as far as the client uses it (Node's `ws` fits too). */
export interface WebSocketLike {
  readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface LockstepClient {
  sendMessage(id: string, text: string): void;
  close(): void;
}

export declare function createLockstepClient(options: {
  url: string;
  token: string;
  handlers: LockstepClientHandlers;
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
  WebSocketImpl?: { new (url: string, protocols: string[]): WebSocketLike; readonly OPEN: number };
}): LockstepClient;
