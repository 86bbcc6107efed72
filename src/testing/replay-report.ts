/** Human-readable lines for a replay: one per transition, its effects, then the verdict. */
import type { TraceEffect, ConnectionTraceEntry } from '../trace/format.js';
import type { ReplayResult } from './replay.js';

const MAX_TEXT = 100;

function short(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

/** A one-line description of a trace entry. */
export function describeEntry(entry: ConnectionTraceEntry): string {
  switch (entry.kind) {
    case 'event': {
      const { event } = entry;
      switch (event.type) {
        case 'socket.frame':
          return `socket.frame ${event.data === null ? '(binary)' : short(event.data)}`;
        case 'socket.close':
          return `socket.close ${event.code}${event.reason ? ` "${event.reason}"` : ''}`;
        case 'stream.event':
          return `stream.event seq ${event.event.seq} ${event.event.event} (run ${event.event.runId}, buffered ${event.bufferedBytes} B)`;
        default: {
          const { type, ...rest } = event;
          const detail = JSON.stringify(rest);
          return detail === '{}' ? type : `${type} ${short(detail)}`;
        }
      }
    }
    case 'verify':
      return entry.result.ok ? `verifyToken resolved (user ${entry.result.userId})` : `verifyToken rejected: ${entry.result.error}`;
    case 'backend':
      return entry.result.ok ? 'backend ready' : `backend not ready: ${entry.result.error}`;
    case 'refresh':
      return entry.result.ok ? `verifyRefresh resolved (user ${entry.result.userId})` : `verifyRefresh rejected: ${entry.result.error}`;
    case 'delay':
      return `delay ${entry.delay} fired (${entry.actor})`;
  }
}

/** A one-line description of a recorded effect. */
export function describeEffect(effect: TraceEffect): string {
  const params = effect.params as Record<string, unknown> | undefined;
  switch (effect.type) {
    case 'sendFrame':
      return `send ${short(JSON.stringify(params?.frame))}`;
    case 'closeSocket':
      return `close ${String(params?.code)}${params?.reason ? ` "${String(params.reason)}"` : ''}`;
    default:
      return params === undefined ? effect.type : `${effect.type} ${short(JSON.stringify(params))}`;
  }
}

/** The lines `lockstep replay` prints for a replay result. */
export function formatReplay(result: ReplayResult, options: { steps?: boolean } = {}): string[] {
  const { trace } = result;
  const lines = [
    `connection ${trace.connectionId} — trace v${trace.version}, recorded ${trace.startedAt}, ${trace.entries.length} entries, ${trace.effects.length} effects${trace.truncated ? ' (truncated)' : ''}`,
  ];
  if (options.steps ?? true) {
    const width = String(trace.entries.at(-1)?.at ?? 0).length;
    for (const step of result.steps) {
      const changed = step.before === step.after ? '' : ` ──▶ ${step.after}`;
      lines.push(`#${String(step.index).padEnd(4)} +${String(step.at).padStart(width)}ms  ${step.before} ── ${describeEntry(step.entry)}${changed}`);
      for (const effect of step.effects) lines.push(`${' '.repeat(width + 10)}↳ ${describeEffect(effect)}`);
    }
  }
  const frames = result.effects.filter((e) => e.type === 'sendFrame').length;
  const final = result.final;
  const closing = [
    `final state ${JSON.stringify(final.state)}`,
    `${frames} frames sent`,
    final.closeCode === null ? 'no close code sent' : `closed with ${final.closeCode}${final.closeReason ? ` "${final.closeReason}"` : ''}`,
    ...(final.peerCloseCode === null ? [] : [`peer closed with ${final.peerCloseCode}`]),
  ].join(', ');
  if (result.ok) {
    lines.push(`OK: the replay matches the recording — ${closing}`);
  } else {
    lines.push(`DIVERGED: the replay does not match the recording (${result.divergences.length} difference${result.divergences.length === 1 ? '' : 's'}) — replay: ${closing}`);
    for (const divergence of result.divergences) lines.push(`  - ${divergence.message}`);
  }
  return lines;
}
