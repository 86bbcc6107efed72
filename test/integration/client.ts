/**
 * A test client over a real ws socket: records every frame and lets a test await the
 * n-th frame, a predicate, or the close — all driven by socket events, never by timers.
 */
import WebSocket from 'ws';
import type { ServerFrame } from '../../src/protocol/frames.js';

export interface ClientOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  /** Frames sent inside the `open` callback, before anything is received. */
  onOpen?: (ws: WebSocket) => void;
}

/** How long `until` waits for its condition before it fails naming it. */
const UNTIL_BOUND_MS = 20_000;

export class TestClient {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  /** Frames that arrived with the binary opcode: every lockstep frame is JSON text (a browser would get a Blob). */
  binaryFrames = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  #waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  constructor(url: string, options: ClientOptions = {}) {
    this.ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => {
        options.onOpen?.(this.ws);
        resolve();
      });
      this.ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
    });
    this.opened.catch(() => {});
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames += 1;
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      this.#check();
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#check();
      });
    });
    this.ws.on('error', () => {});
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves once `test()` holds; rejects if the socket closes first. */
  /**
   * Resolves once `test()` holds after a frame; rejects naming `what` when the socket closes
   * first or `UNTIL_BOUND_MS` pass (a wait that never ends fails its test, it does not hang it).
   */
  until(test: () => boolean, what = 'condition'): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const bound = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.test !== test);
        reject(new Error(`waited ${UNTIL_BOUND_MS} ms for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 2_000)}`));
      }, UNTIL_BOUND_MS);
      this.#waiters.push({ test, resolve: () => { clearTimeout(bound); resolve(); } });
      void this.closed.then(() => {
        if (!test()) {
          clearTimeout(bound);
          reject(new Error(`socket closed before ${what}; frames: ${JSON.stringify(this.frames)}`));
        }
      });
    });
  }

  untilFrames(count: number): Promise<void> {
    return this.until(() => this.frames.length >= count, `${count} frames`);
  }

  untilType(type: ServerFrame['type'], count = 1): Promise<void> {
    return this.until(() => this.frames.filter((f) => f.type === type).length >= count, `${count} × ${type}`);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000);
    return this.closed;
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  }
}
