/**
 * One sentence per state, for visualizations/README.md and the Stately definitions'
 * `description`s. Kept next to the generator (not in machines/) so the machines stay code;
 * `renderAll` fails on a state without a sentence, so a new state cannot go undocumented.
 */
export const STATE_NOTES: Record<string, string> = {

  'connection.handshaking': 'The handshake, as states of this machine (no child actor): holds every early frame after the credentials in arrival order (at most `maxEarlyFrames`, else 1008).',
  'connection.handshaking.authenticating': 'Credentials must be presented and verified within `authTimeout` (else 4408).',
  'connection.handshaking.authenticating.awaitingCredentials': 'Waits for the first frame to be `auth` (else 4401 `first frame must be auth`), unless the upgrade already carried a token (header or `lockstep.bearer.<token>` subprotocol).',
  'connection.handshaking.authenticating.verifying': 'Asks the adapter to verify the token (`verifyToken` effect); `auth.verified` with an acceptable identity moves on, `auth.refused` or an identity out of bounds closes 4401.',
  'connection.handshaking.checkingBackend': 'Asks the adapter for the embedder\'s `ready()` (`checkBackend` effect); `backend.unavailable` or `backendTimeout` closes 1013, never 1011.',
  'connection.joining': 'Subscribes to the user\'s event stream (and resume point); still holding early frames. No answer within joinTimeout → 1013.',
  'connection.ready': 'Sends the `ready` frame first, replays missed events, then re-raises held frames in order; installs the ack path (acks written without a transition while under maxOutgoingBytes) and the frame path (a valid `message` within both rate limits starts its run without a transition; the token bucket refills lazily from the frames\' time, no timer); its regions run in parallel.',
  'connection.ready.flow': 'Region: writing the user\'s events to the socket, under backpressure.',
  'connection.ready.flow.flowing': 'Installs the event path: the next seq under the high-water mark is written without a transition (once encoded for all tabs); anything else is handed back as stream.event.',
  'connection.ready.flow.congested': 'The socket buffer passed `highWaterMarkBytes`: events wait in the log; too much lag closes 1008.',
  'connection.ready.flow.catchingUp': 'The socket drained: missed events are read back from the log, in order, before flowing again.',
  'connection.ready.heartbeat': 'Region: the WebSocket ping/pong heartbeat.',
  'connection.ready.tokenExpiry': "Region: the token's exp holds for the connection's lifetime.",
  'connection.ready.tokenExpiry.unbounded': 'The token does not expire; one that does goes to counting at once.',
  'connection.ready.tokenExpiry.counting': 'At `tokenExpiry` closes 4401 token expired unless a refresh restarts it.',
  'connection.ready.tokenRefresh': 'Region: an auth frame after ready refreshes the token (same subject only).',
  'connection.ready.tokenRefresh.idle': 'No refresh being verified.',
  'connection.ready.tokenRefresh.verifying': 'Asks the adapter to verify the new token (`verifyRefresh` effect); `refresh.verified` for the same subject sends auth_ok and restarts the expiry, anything else is an error frame; other frames are handled meanwhile, in order.',
  'connection.ready.heartbeat.waiting': 'Sends a ping every `heartbeat`.',
  'connection.ready.heartbeat.awaitingPong': 'A ping is out; no pong before the next `heartbeat` terminates the socket.',
  'connection.closing': 'The close frame was sent; waits `closeTimeout` for the peer\'s close.',
  'connection.terminating': 'The peer did not answer: the socket is cut without a close frame.',
  'connection.closed': 'Final: the socket is gone and the actor is done (the live count drops).',

  'agentRun.started': '`agent_started` was emitted; thinking, a tool call, or the end may follow.',
  'agentRun.thinking': 'At least one `agent_thinking` step, and no tool call open.',
  'agentRun.toolsOpen': 'One or more tool calls are open, matched by id; `agent_completed` is refused here.',
  'agentRun.awaitingApproval': 'Tool calls are open and at least one waits for the user (`approval_requested`): it can neither stream arguments nor complete until `approval_resolved`.',
  'agentRun.completed': 'Final: `agent_completed` ended the run.',
  'agentRun.failed': 'Final: `agent_error` ended the run (allowed with tool calls open).',

  'serverLifecycle.serving': 'Accepting upgrades and running.',
  'serverLifecycle.draining': 'New upgrades get 503; in-flight runs finish within `drainTimeout`.',
  'serverLifecycle.closingConnections': 'Every connection actor is told to close with 1001; after `closeGrace` what is left is destroyed.',
  'serverLifecycle.closed': 'Final: every connection actor reached `closed`.',

  'leaseKeeper.keeping': 'Every `renewInterval` the node renews its runs\' leases in Redis and ends runs whose lease expired (`agent_error` node_lost).',
  'leaseKeeper.stopped': 'Final: the server closed; its leases are no longer renewed.',

  'client.active': 'Not final: `close()` ends the client from here.',
  'client.active.online': 'A socket exists; its close decides: reconnect, refresh the token, or a final state.',
  'client.active.starting': 'Chooses the first step: connect with the given token, or fetch one with `getToken`.',
  'client.active.fetchingToken': 'Runs `getToken` (before the first connect without a token, and once after a 4401); a failure is final (`unauthorized`).',
  'client.active.online.connecting': 'The WebSocket is opening, with `?epoch&lastSeq` from the stored resume point; `openTimeout` gives it up and reconnects.',
  'client.active.online.authenticating': 'The socket is open; waits for the `ready` frame (handshake, backend readiness, join) within `openTimeout`.',
  'client.active.online.ready': 'Accepted the `ready` frame (a refused resume marks open runs interrupted and reports what may be missing), sent the outbox; applies acks and events in seq order.',
  'client.active.online.ready.sending': 'Messages go out as they are sent.',
  'client.active.online.ready.waitingToResend': 'A message was refused by the rate limit; it stays in the outbox and is sent again after `rateLimitRetry`.',
  'client.active.reconnecting': 'Waits `backoff` (exponential from baseMs to maxMs, equal jitter from the reported draw), then connects again.',
  'client.closed': 'Final: `close()` was called, or the server closed with 1000.',
  'client.unauthorized': 'Final: 4401 with no way to refresh the token (no `getToken`, it failed, or a second 4401 before `ready`).',
  'client.refused': 'Final: 1008 policy (too many connections, bad frames, rate limit), 1009 or a protocol error: reconnecting would not help.',
};
