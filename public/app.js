/* global document, location, fetch, window, requestAnimationFrame, URLSearchParams, CSS */
/**
 * The demo page: `lockstep/client` (bundled for the browser at build time,
 * scripts/build-client-bundle.mjs) wired to the DOM. The client decides everything — when to
 * connect, resend, resume, mark a run interrupted; the page only renders its snapshot: the
 * client's state (a strip and its chart, focused on the current state), each run's streamed
 * text with a Stop button while it runs, and what the last ready said about the resume.
 * Outbox, resume point and runs live in localStorage (one key per user): a reload shows
 * the same runs and resumes where it was.
 */
import { createLockstepClient, localStorageStorage } from './lockstep-client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

/** The client's state → its node on the chart (visualizations/client.svg) and its pill on the strip. */
const CHART_NODE = {
  starting: 'client.active.starting',
  fetchingToken: 'client.active.fetchingToken',
  connecting: 'client.active.online.connecting',
  authenticating: 'client.active.online.authenticating',
  ready: 'client.active.online.ready',
  reconnecting: 'client.active.reconnecting',
  closed: 'client.closed',
  unauthorized: 'client.unauthorized',
  refused: 'client.refused',
};
const STRIP = { starting: 'connecting', fetchingToken: 'connecting', unauthorized: 'closed', refused: 'closed' };

let client;
let stopListening = [];
let eventsSinceReady = 0;
let askedFrom;
/** False after a refused resume: the events since are in order, but the stream is not whole. */
let streamWhole = true;
let stateDetail = '';
/** runId → { run, node } as last rendered: a run object is replaced on every change, so identity says what changed. */
const rendered = new Map();

function setOutput(id, text, tone) {
  const node = $(id);
  node.textContent = text;
  node.className = tone ?? '';
}

// ---- The client's state: the output, the strip, the focused chart ----

function showState(state) {
  const node = $('state');
  node.dataset.state = state;
  node.textContent = stateDetail ? `${state} — ${stateDetail}` : state;
  const pill = STRIP[state] ?? state;
  for (const item of document.querySelectorAll('#state-strip [data-strip]')) {
    if (item.dataset.strip === pill) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
  }
  for (const g of document.querySelectorAll('#chart [data-state]')) g.classList.toggle('active', g.getAttribute('data-state') === CHART_NODE[state]);
  focusChart();
}

/**
 * Shows the chart at its own scale (its labels stay 11–12 px at any width) through a window
 * the size of the panel, centred on the current state's node — instead of shrinking the
 * whole 1,265 px chart into a phone.
 */
function focusChart() {
  const svg = document.querySelector('#chart svg');
  const box = $('chart').getBoundingClientRect();
  if (!svg || box.width === 0) return;
  const [, , fullWidth, fullHeight] = (svg.getAttribute('data-full-view') ?? svg.getAttribute('viewBox')).split(/\s+/).map(Number);
  svg.setAttribute('data-full-view', `0 0 ${fullWidth} ${fullHeight}`);
  const rect = document.querySelector('#chart [data-state].active > rect');
  const at = (name) => Number(rect?.getAttribute(name) ?? 0);
  // Centred on the node; a node larger than the window (a compound state) from its title corner.
  const start = (from, size, window, full) => {
    const wanted = size > window ? from - 12 : from + size / 2 - window / 2;
    return Math.max(0, Math.min(wanted, full - window));
  };
  svg.setAttribute('viewBox', `${start(at('x'), at('width'), box.width, fullWidth)} ${start(at('y'), at('height'), box.height, fullHeight)} ${box.width} ${box.height}`);
}

// ---- Runs ----

function runStatus(run) {
  if (run.status === 'failed' && run.result?.reason === 'cancelled') return 'cancelled';
  return run.status;
}

const STATUS_NOTE = {
  interrupted: 'interrupted: its end may be in what was missed (the server restarted or the resume was refused); it is not running here any more',
  cancelled: 'stopped: the run ended when you pressed Stop',
};

/** Consecutive text deltas as one timeline entry (a long answer is hundreds of them). */
function timelineEntries(run) {
  const entries = [];
  for (const e of run.events) {
    const last = entries.at(-1);
    if (e.event === 'text_delta' && last?.event === 'text_delta') {
      last.seq = e.seq;
    } else {
      entries.push({ event: e.event, fromSeq: e.fromSeq ?? e.seq, seq: e.seq, data: e.data ?? {} });
    }
  }
  return entries;
}

function describe(entry) {
  const { data } = entry;
  switch (entry.event) {
    case 'agent_started': return 'started';
    case 'agent_thinking': return `thinking: ${data.text ?? ''}`;
    case 'tool_executing': return `tool ${data.tool ?? '?'} called with ${JSON.stringify(data.input ?? {})}`;
    case 'tool_completed': return `tool ${data.tool ?? '?'} returned ${JSON.stringify(data.output ?? {})}`;
    // A resume may deliver many deltas as one coalesced item: the seq range says what is covered.
    case 'text_delta': return 'text';
    case 'tool_args_delta': return `tool arguments: ${data.delta ?? ''}`;
    case 'approval_requested': return `approval requested: ${data.tool ?? 'a tool'}`;
    case 'agent_completed': return 'completed';
    case 'agent_error': return `error: ${data.reason ?? ''} ${data.message ?? ''}`.trim();
    default: return entry.event;
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Approve / deny for a tool call waiting for the user (`run.pendingApprovals`, from the
 * server's `approval_requested` events): `client.approve(runId, toolCallId, approved)`. The
 * first answer of any tab wins; the prompt goes away on `approval_resolved`.
 */
function renderApprovals(run, slot) {
  slot.replaceChildren();
  for (const request of run.pendingApprovals) {
    const { toolCallId, tool, args } = request ?? {};
    const box = element('div', 'approval');
    box.dataset.toolCallId = String(toolCallId ?? '');
    box.append(element('p', '', `The agent asks to run ${tool ?? 'a tool'} with ${JSON.stringify(args ?? {})}`));
    for (const [label, approved] of [['Approve', true], ['Deny', false]]) {
      const button = element('button', approved ? 'approve' : 'deny', label);
      button.type = 'button';
      button.disabled = client.state !== 'ready';
      button.addEventListener('click', () => client.approve(run.runId, toolCallId, approved));
      box.append(button);
    }
    slot.append(box);
  }
}

function renderRun(run, node) {
  const status = runStatus(run);
  node.dataset.status = status;
  node.querySelector('.badge').textContent = status;
  node.querySelector('.you').textContent = run.prompt === undefined ? '(a run this tab did not start)' : `You: ${run.prompt}`;
  const reply = node.querySelector('.reply');
  reply.textContent = run.text;
  reply.hidden = run.text.length === 0;
  node.querySelector('.stop').hidden = run.status !== 'running';
  const note = node.querySelector('.note');
  note.textContent = STATUS_NOTE[status] ?? (run.incomplete ? 'incomplete: some of its events may be missing' : '');
  note.hidden = note.textContent === '';
  renderApprovals(run, node.querySelector('.approvals'));
  const timeline = node.querySelector('.timeline');
  timeline.replaceChildren(
    ...timelineEntries(run).map((entry) => {
      const li = element('li', `event event-${entry.event}`);
      li.dataset.event = entry.event;
      li.dataset.seq = String(entry.seq);
      li.dataset.fromSeq = String(entry.fromSeq);
      li.append(element('span', 'seq', entry.fromSeq === entry.seq ? `#${entry.seq} ` : `#${entry.fromSeq}–#${entry.seq} `), describe(entry));
      return li;
    }),
  );
}

function newRunNode(runId) {
  const node = element('li', 'run');
  node.dataset.runId = runId;
  const head = element('div', 'run-head');
  const badge = element('span', 'badge');
  const title = element('h3', '', `Run ${runId.slice(-12)}`);
  const stop = element('button', 'stop', 'Stop');
  stop.type = 'button';
  stop.setAttribute('aria-label', `Stop run ${runId.slice(-12)}`);
  stop.addEventListener('click', () => {
    // Sent only while ready (false otherwise): the button stays for another try.
    if (!client.cancel(runId)) setOutput('error', 'not connected: the stop was not sent; press Stop again when ready', 'warn');
  });
  head.append(badge, title, stop);
  node.append(head, element('p', 'you'), element('p', 'reply'), element('div', 'approvals'), element('p', 'note'), element('ol', 'timeline'));
  return node;
}

function renderRuns() {
  const snapshot = client.getSnapshot();
  const list = $('runs');
  const wanted = [];
  // Messages not acked yet: kept in the outbox (and localStorage) until the server acks them.
  for (const entry of [...snapshot.outbox].reverse()) {
    let node = list.querySelector(`[data-message-id="${CSS.escape(entry.id)}"]`);
    if (!node) {
      node = element('li', 'run pending', `You: ${entry.text} (sending…)`);
      node.dataset.messageId = entry.id;
    }
    wanted.push(node);
  }
  for (const run of [...snapshot.runs].reverse()) {
    let seen = rendered.get(run.runId);
    if (!seen) rendered.set(run.runId, (seen = { run: undefined, node: newRunNode(run.runId) }));
    if (seen.run !== run) {
      renderRun(run, seen.node);
      seen.run = run;
    }
    wanted.push(seen.node);
  }
  const keep = new Set(snapshot.runs.map((r) => r.runId));
  for (const runId of rendered.keys()) if (!keep.has(runId)) rendered.delete(runId);
  // Reorders only what moved; a node already in place keeps its focus and selection.
  wanted.forEach((node, i) => {
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] ?? null);
  });
  while (list.children.length > wanted.length) list.lastElementChild.remove();

  setOutput('outbox', snapshot.outbox.length === 0 ? 'empty' : `${snapshot.outbox.length} waiting for an ack (kept across reloads)`);
  const point = snapshot.resumePoint;
  $('position').textContent = point ? `epoch ${point.epoch.slice(0, 8)}…, seq ${point.lastSeq}` : 'epoch –, seq –';
}

let renderQueued = false;
/** Deltas arrive every few ms: one render per animation frame is enough. */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderRuns();
  });
}

// ---- The client ----

function connect(user) {
  for (const stop of stopListening) stop();
  client?.close();
  rendered.clear();
  $('runs').replaceChildren();
  eventsSinceReady = 0;
  stateDetail = '';
  setOutput('stream', 'no events yet');
  setOutput('resume', 'not requested yet');
  client = createLockstepClient({
    url: wsUrl,
    token: user,
    storage: localStorageStorage(),
    storageKey: `lockstep.demo.${user}`,
    backoff: { baseMs: Number(params.get('backoffMs') ?? 250), maxMs: Number(params.get('backoffMaxMs') ?? 10_000) },
  });
  stopListening = [
    client.subscribe(scheduleRender),
    // `ready` and `close` are reported during the transition, `state` after it: they set the detail it shows.
    client.on('state', ({ state }) => {
      if (state === 'connecting') {
        askedFrom = client.getSnapshot().resumePoint;
        stateDetail = askedFrom ? `resuming after #${askedFrom.lastSeq}` : 'new session';
      }
      showState(state);
    }),
    client.on('ready', (ready) => {
      stateDetail = `user ${ready.userId}`;
      eventsSinceReady = 0;
      streamWhole = ready.outcome === 'fresh' || ready.outcome === 'resumed';
      setOutput('stream', streamWhole ? 'no events since ready' : 'live in the new epoch: no events yet');
      if (ready.outcome === 'fresh') setOutput('resume', 'new session (nothing to resume)');
      else if (ready.outcome === 'resumed') setOutput('resume', `complete: every event after #${askedFrom?.lastSeq ?? ready.lastSeq} replayed`, 'ok');
    }),
    client.on('missed', (missed) => {
      const interrupted = missed.interruptedRuns.length;
      const what = `events after #${missed.afterSeq ?? 0} may be missing`;
      if (missed.reason === 'stream') setOutput('stream', `gap: ${what}; continuing from #${missed.liveFromSeq + 1}`, 'warn');
      else setOutput('resume', `incomplete (${missed.reason}): ${what}${interrupted ? `; ${interrupted} open run${interrupted > 1 ? 's' : ''} marked interrupted` : ''}; live from #${missed.liveFromSeq} of the new epoch`, 'warn');
    }),
    client.on('event', () => {
      eventsSinceReady += 1;
      if ($('stream').classList.contains('warn')) return;
      if (streamWhole) setOutput('stream', `${eventsSinceReady} events since ready, each once, in order`, 'ok');
      else setOutput('stream', `${eventsSinceReady} events since the refused resume, each once, in order`);
    }),
    client.on('error', (error) => setOutput('error', `${error.code}: ${error.message}${error.runId ? ` (run ${error.runId.slice(-12)})` : ''}`, 'warn')),
    client.on('close', ({ code, reason, willRetry }) => {
      stateDetail = `code ${code}${reason ? ` ${reason}` : ''}${willRetry ? ', retrying' : ''}`;
    }),
    client.on('discarded', ({ reason, messages }) => setOutput('error', `stored state not used (${reason}); ${messages.length} unsent message(s) dropped`, 'warn')),
  ];
  showState(client.state);
  renderRuns();
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('text');
  const text = input.value.trim();
  if (!text) return;
  try {
    // Stored in localStorage before send() returns; sent now, or when the connection is back.
    client.send(text);
    input.value = '';
  } catch (error) {
    setOutput('error', `${error.code ?? 'error'}: ${error.message}`, 'warn');
  }
});

$('identity').addEventListener('submit', (event) => {
  event.preventDefault();
  connect($('user').value);
});

async function loadChart() {
  const response = await fetch('/client.svg');
  if (!response.ok) return;
  $('chart').innerHTML = await response.text();
  const svg = document.querySelector('#chart svg');
  svg?.removeAttribute('width');
  svg?.removeAttribute('height');
}

window.addEventListener('resize', focusChart);
$('user').value = params.get('user') ?? 'demo';
loadChart().finally(() => connect($('user').value));
