/**
 * lockstep's v1 protocol work written by hand, with no state machine: what the `ws-protocol`
 * and `socketio-protocol` baselines share. Same frames, same checks, same bounds (defaults of
 * docs/protocol.md) as lockstep, so the bench compares the cost of lockstep's design against
 * the same work done the plain way, not against an echo.
 *
 *   credentials      Authorization: Bearer, then a `lockstep.bearer.<token>` subprotocol entry
 *   dev tokens       the token is the user id: 1–128 characters of [A-Za-z0-9_.@-]
 *   client frames    nesting depth ≤ 32 checked before JSON.parse; `auth`, `message`, `ping`
 *                    checked field by field; errors with lockstep's LOCKSTEP_E_* codes
 *   bad frames       +1 per refused frame, −1 per valid one; at 20: close 1008
 *   rate limit       a token bucket per connection, refilled lazily from the clock (no timer)
 *   user streams     per-user seq, a log bounded by count (1000), age (15 min) and bytes
 *                    (8 MiB per user, JSON length), message-id dedup bounded by count (1000),
 *                    bytes (256 KiB per user) and age
 *   runs             agent_started … agent_completed, refusing events after the end
 *
 * Not done here (lockstep does them, they cost nothing in these workloads): the 256 MiB bound
 * across all users' logs, per-address and total connection caps, origin checks, metrics.
 */
import { randomUUID } from 'node:crypto';
import { URLSearchParams } from 'node:url';

export const LIMITS = {
  maxPayload: 1024 * 1024,
  maxFrameDepth: 32,
  maxBadFrames: 20,
  highWaterMarkBytes: 1024 * 1024,
  maxOutgoingBytes: 4 * 1024 * 1024,
  maxLagEvents: 500,
  retainEvents: 1000,
  retainMs: 15 * 60_000,
  retainBytesPerUser: 8 * 1024 * 1024,
  retainMessageIds: 1000,
  retainMessageBytesPerUser: 256 * 1024,
  heartbeatMs: 25_000,
  authTimeoutMs: 5_000,
  messageIdMax: 128,
};

const DEV_USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const BEARER_PREFIX = 'lockstep.bearer.';

/** The token the upgrade carries (header first, then the bearer subprotocol), or undefined. */
export function tokenFromUpgrade(headers) {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = BEARER.exec(auth);
    if (match) return match[1];
  }
  const offered = headers['sec-websocket-protocol'];
  if (typeof offered === 'string') {
    for (const entry of offered.split(',')) {
      const protocol = entry.trim();
      if (protocol.startsWith(BEARER_PREFIX) && protocol.length > BEARER_PREFIX.length) return protocol.slice(BEARER_PREFIX.length);
    }
  }
  return undefined;
}

/** Dev-token check: the user id, or undefined when the token is not a valid one. */
export function devUserId(token) {
  return typeof token === 'string' && DEV_USER_ID.test(token) ? token : undefined;
}

/** `?epoch=…&lastSeq=…` of an upgrade URL, or undefined (both required, lastSeq a non-negative integer). */
export function resumeFromQuery(query) {
  if (!query) return undefined;
  const params = new URLSearchParams(query);
  const epoch = params.get('epoch');
  const lastSeq = Number(params.get('lastSeq'));
  return epoch && Number.isSafeInteger(lastSeq) && lastSeq >= 0 ? { epoch, lastSeq } : undefined;
}

const ERRORS = {
  LOCKSTEP_E_BAD_JSON: 'frame is not valid JSON',
  LOCKSTEP_E_BAD_FRAME: 'frame does not match the schema of its type',
  LOCKSTEP_E_UNKNOWN_TYPE: 'frame type is not part of protocol lockstep.v1',
  LOCKSTEP_E_BINARY_UNSUPPORTED: 'binary frames are not supported; send JSON text frames',
  LOCKSTEP_E_RATE_LIMITED: 'message rate limit exceeded',
  LOCKSTEP_E_FRAME_TOO_DEEP: 'frame JSON nests arrays/objects too deep',
  LOCKSTEP_E_INVALID_TOKEN: 'the refresh token was not accepted; the previous expiry still applies',
  LOCKSTEP_E_SUBJECT_MISMATCH: 'the refresh token is for another subject; the connection keeps its identity',
};

/** An error frame with lockstep's code and message (and the refused message's id as `ref`). */
export function errorFrame(code, detail, ref) {
  const message = detail ? `${ERRORS[code]}: ${detail}` : ERRORS[code];
  return ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref };
}

/** True when arrays/objects in `text` nest deeper than `max` (brackets in strings do not count); a loop, never recursion. */
export function nestsDeeperThan(text, max) {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string literal: jump from quote to quote, skipping escaped ones.
      let j = text.indexOf('"', i + 1);
      while (j !== -1) {
        let slashes = 0;
        for (let k = j - 1; k > i && text.charCodeAt(k) === 0x5c; k--) slashes++;
        if (slashes % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (j === -1) return false;
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** A parsed client frame value checked field by field: `{ frame }` or `{ error }` (an error frame). */
export function checkClientFrame(value) {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof value.type !== 'string') {
    return { error: errorFrame('LOCKSTEP_E_BAD_FRAME', 'expected an object with a string "type"') };
  }
  switch (value.type) {
    case 'message': {
      const { id, text } = value;
      const ref = typeof id === 'string' ? id.slice(0, LIMITS.messageIdMax) : undefined;
      if (typeof id !== 'string' || id.length === 0 || id.length > LIMITS.messageIdMax) {
        return { error: errorFrame('LOCKSTEP_E_BAD_FRAME', `message needs a string "id" of 1–${LIMITS.messageIdMax} characters`, ref) };
      }
      if (typeof text !== 'string') return { error: errorFrame('LOCKSTEP_E_BAD_FRAME', 'message needs a string "text"', ref) };
      return { frame: { type: 'message', id, text } };
    }
    case 'ping':
      if (value.id !== undefined && typeof value.id !== 'string') {
        return { error: errorFrame('LOCKSTEP_E_BAD_FRAME', 'ping "id" must be a string when present') };
      }
      return { frame: value.id === undefined ? { type: 'ping' } : { type: 'ping', id: value.id } };
    case 'auth':
      if (typeof value.token !== 'string' || value.token.length === 0) {
        return { error: errorFrame('LOCKSTEP_E_BAD_FRAME', 'auth needs a non-empty string "token"') };
      }
      return { frame: { type: 'auth', token: value.token } };
    default:
      return { error: errorFrame('LOCKSTEP_E_UNKNOWN_TYPE', `"${value.type.slice(0, 64)}"`) };
  }
}

/** A client text frame: depth check before JSON.parse, then the field checks. */
export function parseClientFrame(text) {
  if (nestsDeeperThan(text, LIMITS.maxFrameDepth)) return { error: errorFrame('LOCKSTEP_E_FRAME_TOO_DEEP', `more than ${LIMITS.maxFrameDepth} levels`) };
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: errorFrame('LOCKSTEP_E_BAD_JSON') };
  }
  return checkClientFrame(value);
}

/** A token bucket refilled from the clock when it is read: no timer per connection. */
export class TokenBucket {
  constructor(rate, burst, now = Date.now) {
    this.rate = rate;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.at = now();
  }

  take() {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * One user's stream: seq, the bounded log of encoded event frames (for resume and catch-up),
 * the message ids it accepted, and its live tabs. `frame(event)` is how a target turns the
 * event into what its log keeps and its tabs receive, with `bytes` its size for the byte bound.
 */
class UserStream {
  constructor(userId) {
    this.userId = userId;
    this.lastSeq = 0;
    this.tabs = new Set();
    /** Retained entries `{ seq, ts, bytes, frame }` are log[head..]. */
    this.log = [];
    this.head = 0;
    this.bytes = 0;
    this.messages = new Map();
    this.messageBytes = 0;
  }

  /** Numbers and retains an event; returns the retained entry (`frame` is what goes to every tab). */
  append(runId, event, data, encode) {
    const seq = ++this.lastSeq;
    const ts = Date.now();
    const { frame, bytes } = encode({ type: 'event', seq, runId, event, data, ts });
    const entry = { seq, ts, bytes, frame };
    this.log.push(entry);
    this.bytes += bytes;
    this.#trim(ts);
    return entry;
  }

  /** Entries with seq > `afterSeq`, or undefined when some were dropped (or afterSeq is ahead). */
  after(afterSeq) {
    if (afterSeq > this.lastSeq) return undefined;
    this.#trim(Date.now());
    const oldest = this.head < this.log.length ? this.log[this.head].seq : this.lastSeq + 1;
    if (afterSeq + 1 < oldest) return undefined;
    return this.log.slice(this.head + afterSeq + 1 - oldest);
  }

  /** Remembers that `id` started `runId`; returns the original run id when `id` was seen. */
  recordMessage(id, runId) {
    const now = Date.now();
    const seen = this.messages.get(id);
    if (seen !== undefined && seen.at >= now - LIMITS.retainMs) return seen.runId;
    const bytes = id.length + runId.length;
    for (const [old, entry] of this.messages) {
      const fits = this.messages.size < LIMITS.retainMessageIds && this.messageBytes + bytes <= LIMITS.retainMessageBytesPerUser;
      if (fits && entry.at >= now - LIMITS.retainMs) break;
      this.messages.delete(old);
      this.messageBytes -= entry.bytes;
    }
    this.messages.set(id, { runId, at: now, bytes });
    this.messageBytes += bytes;
    return undefined;
  }

  #trim(now) {
    const { log } = this;
    while (this.head < log.length) {
      const retained = log.length - this.head;
      const oldest = log[this.head];
      if (retained <= LIMITS.retainEvents && oldest.ts >= now - LIMITS.retainMs && (this.bytes <= LIMITS.retainBytesPerUser || retained === 1)) break;
      this.bytes -= oldest.bytes;
      log[this.head++] = undefined;
    }
    // Compact once dropped slots outnumber retained ones: amortised O(1), under twice the bound.
    if (this.head > 0 && this.head >= log.length - this.head) {
      log.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * Every user's stream, and runs on them. `deliver(stream, entry)` writes one entry to every tab
 * of the stream (the target's transport, with its send-buffer checks); `encode(event)` makes the
 * entry's frame once for all of them.
 */
export class Streams {
  constructor({ encode, deliver }) {
    this.epoch = randomUUID();
    this.encode = encode;
    this.deliver = deliver;
    this.users = new Map();
  }

  of(userId) {
    let stream = this.users.get(userId);
    if (stream === undefined) this.users.set(userId, (stream = new UserStream(userId)));
    return stream;
  }

  /** Appends one event to the user's log and delivers it to each of the user's tabs. */
  publish(stream, runId, event, data) {
    const entry = stream.append(runId, event, data, this.encode);
    if (stream.tabs.size > 0) this.deliver(stream, entry);
    return entry;
  }

  /**
   * The ready frame for a tab joining `stream`, and the entries it must be sent first (a
   * resume inside retention): lockstep's resume rules (docs/protocol.md, Resume).
   */
  join(tab, stream, connectionId, resume) {
    const ready = { type: 'ready', userId: stream.userId, connectionId, epoch: this.epoch, lastSeq: stream.lastSeq, resumed: false };
    let replay = [];
    if (resume) {
      const missed = resume.epoch === this.epoch ? stream.after(resume.lastSeq) : undefined;
      if (missed) {
        ready.resumed = true;
        replay = missed;
      } else ready.reason = resume.epoch === this.epoch ? 'gap' : 'epoch';
    }
    stream.tabs.add(tab);
    return { ready, replay };
  }

  leave(tab, stream) {
    stream.tabs.delete(tab);
  }

  /** A run on `stream`: agent_started now; thinking / text / complete / fail until it ended, then refused. */
  startRun(stream, runId) {
    let ended = false;
    const emit = (event, data) => {
      if (ended) throw new Error(`run ${runId} already ended: ${event} refused`);
      this.publish(stream, runId, event, data);
    };
    emit('agent_started', {});
    return {
      runId,
      userId: stream.userId,
      get ended() {
        return ended;
      },
      thinking: (data = {}) => emit('agent_thinking', data),
      // A token of the answer: a string, as lockstep's RunHandle.text checks.
      text: (delta) => {
        if (typeof delta !== 'string') throw new TypeError(`run ${runId}: a text delta must be a string`);
        emit('text_delta', { delta });
      },
      complete: (data = {}) => {
        emit('agent_completed', data);
        ended = true;
      },
      fail: (data = {}) => {
        emit('agent_error', data);
        ended = true;
      },
    };
  }
}

/** The bad-frame count of one connection: +1 per refused frame, −1 per valid one; true when it reached the bound. */
export function countFrame(conn, bad) {
  if (bad) return ++conn.badFrames >= LIMITS.maxBadFrames;
  if (conn.badFrames > 0) conn.badFrames--;
  return false;
}
