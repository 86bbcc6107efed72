/* global document, location, crypto, fetch, CSS, URLSearchParams */
/**
 * The demo page: wires the lockstep client to the DOM. Shows the connection's state on the
 * connection chart, each run's events as a timeline, and whether a resume was complete.
 */
import { createLockstepClient } from './lockstep-client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

/** What the page can see from its frames, mapped onto the server's connection chart. */
const CHART_STATE = {
  connecting: 'connection.handshaking',
  ready: 'connection.ready',
  closed: 'connection.closed',
};

let client;
let received = 0;
const runs = new Map();

function showState(name, detail) {
  $('state').textContent = detail ? `${name} — ${detail}` : name;
  const chartState = CHART_STATE[name];
  for (const node of document.querySelectorAll('#chart [data-state]')) {
    node.classList.toggle('active', node.getAttribute('data-state') === chartState);
  }
}

function setOutput(id, text, tone) {
  const node = $(id);
  node.textContent = text;
  node.className = tone ?? '';
}

function runSection(runId) {
  let run = runs.get(runId);
  if (run) return run;
  const item = document.createElement('li');
  item.className = 'run';
  item.dataset.runId = runId;
  const heading = document.createElement('h4');
  heading.textContent = `Run ${runId.slice(-12)}`;
  const you = document.createElement('p');
  you.className = 'you';
  const timeline = document.createElement('ol');
  timeline.className = 'timeline';
  item.append(heading, you, timeline);
  $('runs').prepend(item);
  run = { item, you, timeline };
  runs.set(runId, run);
  return run;
}

function describe(frame) {
  const data = frame.data ?? {};
  switch (frame.event) {
    case 'agent_started': return 'started';
    case 'agent_thinking': return `thinking: ${data.text ?? ''}`;
    case 'tool_executing': return `tool ${data.tool ?? '?'} called with ${JSON.stringify(data.input ?? {})}`;
    case 'tool_completed': return `tool ${data.tool ?? '?'} returned ${JSON.stringify(data.output ?? {})}`;
    case 'text_delta': return `text: ${data.delta ?? ''}`;
    case 'tool_args_delta': return `tool arguments: ${data.delta ?? ''}`;
    case 'agent_completed': return 'completed';
    case 'agent_error': return `error: ${data.reason ?? ''} ${data.message ?? ''}`.trim();
    default: return frame.event;
  }
}

function showEvent(frame, expected) {
  received += 1;
  const run = runSection(frame.runId);
  const entry = document.createElement('li');
  entry.className = `event event-${frame.event}`;
  entry.dataset.seq = String(frame.seq);
  entry.dataset.event = frame.event;
  const seq = document.createElement('span');
  seq.className = 'seq';
  seq.textContent = `#${frame.seq} `;
  entry.append(seq, describe(frame));
  run.timeline.append(entry);
  if (frame.event === 'agent_completed' && typeof frame.data?.text === 'string') {
    const reply = document.createElement('p');
    reply.className = 'reply';
    reply.textContent = frame.data.text;
    run.item.append(reply);
  }
  // A coalesced delta (resume, catch-up) covers fromSeq..seq: it continues the stream when its range starts at `expected`.
  const first = frame.fromSeq ?? frame.seq;
  if (expected !== undefined && first !== expected) {
    setOutput('stream', `${first < expected ? 'duplicate' : 'gap'}: expected #${expected}, got #${first}`, 'warn');
  } else if (!$('stream').classList.contains('warn')) {
    setOutput('stream', `${received} events, in order, no gap`, 'ok');
  }
  $('position').textContent = `seq ${frame.seq}`;
}

function connect(user) {
  client?.close();
  client = createLockstepClient({
    url: wsUrl,
    token: user,
    backoff: { baseMs: Number(params.get('backoffMs') ?? 250) },
    handlers: {
      onConnecting: ({ resuming }) => showState('connecting', resuming ? 'resuming' : 'handshake'),
      onReady: (ready, asked) => {
        showState('ready', `user ${ready.userId}`);
        $('position').textContent = `epoch ${ready.epoch.slice(0, 8)}…, seq ${ready.lastSeq}`;
        if (!asked) setOutput('resume', 'new session (nothing to resume)');
        else if (ready.resumed) setOutput('resume', `complete: every event after #${asked.lastSeq} replayed`, 'ok');
        else setOutput('resume', `incomplete (${ready.reason}): events after #${asked.lastSeq} may be missing; continuing live from #${ready.lastSeq}`, 'warn');
      },
      onEvent: showEvent,
      onAck: (ack) => {
        const run = runSection(ack.runId);
        const pending = document.querySelector(`[data-message-id="${CSS.escape(ack.id)}"]`);
        if (pending && !run.you.textContent) run.you.textContent = `You: ${pending.dataset.text}`;
        pending?.remove();
      },
      onServerError: (error) => setOutput('stream', `${error.code}: ${error.message}`, 'warn'),
      onClose: ({ code, reason }) => showState('closed', `code ${code}${reason ? ` ${reason}` : ''}`),
      onRetry: ({ delay, attempt }) => showState('closed', `reconnecting in ${delay} ms (attempt ${attempt})`),
    },
  });
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('text');
  const text = input.value.trim();
  if (!text) return;
  const id = `m-${crypto.randomUUID()}`;
  // Held on the page until acked: the ack names the run this message started.
  const pending = document.createElement('li');
  pending.className = 'run pending';
  pending.dataset.messageId = id;
  pending.dataset.text = text;
  pending.textContent = `You: ${text} (sending…)`;
  $('runs').prepend(pending);
  client.sendMessage(id, text);
  input.value = '';
});

$('identity').addEventListener('submit', (event) => {
  event.preventDefault();
  connect($('user').value);
});

async function loadChart() {
  const response = await fetch('/connection.svg');
  if (!response.ok) return;
  $('chart').innerHTML = await response.text();
}

$('user').value = params.get('user') ?? 'demo';
loadChart().finally(() => connect($('user').value));

