/**
 * I12 for the person at the screen, checked on a composed world (./client-world.ts) at rest:
 * - every message sent is run exactly once (at most once per log; exactly once unless a log
 *   was lost in a crash while the message was unacked) and ends up linked to its run;
 * - every event of the user's stream is shown once, in order, across reloads — or lies in a
 *   range the client reported missing, and only the server's refused resumes are reported;
 * - no run is left open after its end was missed.
 */
import type { World } from './client-world.js';

/** The first violation found, or undefined. */
export function checkPersonAtScreen(world: World): string | undefined {
  const { record, client } = world;
  const snapshot = client.getSnapshot();

  // Messages: run exactly once.
  const sent = new Set(record.sent);
  for (const call of record.handled) {
    if (!sent.has(call.messageId)) return `I12 message: the server ran message id ${call.messageId}, which the app never sent (sent: ${record.sent.join(', ')})`;
  }
  for (const id of record.sent) {
    const calls = record.handled.filter((c) => c.messageId === id);
    const epochs = new Set(calls.map((c) => c.epoch));
    if (epochs.size !== calls.length) return `I12 message: ${id} ran ${calls.length} times in one log`;
    if (calls.length === 0) return `I12 message: ${id} never ran (outbox now: ${snapshot.outbox.map((e) => e.id).join(', ') || 'empty'})`;
    const crashedBeforeLast = calls.slice(0, -1).every((c) => record.crashedEpochs.includes(c.epoch));
    if (calls.length > 1 && !crashedBeforeLast) return `I12 message: ${id} ran ${calls.length} times (${calls.map((c) => c.runId).join(', ')}) without a lost log between`;
  }
  if (snapshot.outbox.length > 0) return `I12 message: outbox not empty at rest: ${snapshot.outbox.map((e) => e.id).join(', ')}`;
  for (const id of record.sent) {
    if (!snapshot.runs.some((run) => run.messageId === id)) return `I12 message: ${id} is not linked to any run the client shows`;
  }

  // Events: shown once, in order, or reported missing (and only refused resumes are reported).
  for (const report of record.missed) {
    if (report.reason === 'stream' || report.reason === 'user') return `I12 events: the client reported a hole inside a live stream (${JSON.stringify(report)}): it asked for the wrong point or skipped one`;
  }
  for (const log of record.logs) {
    const epoch = log.epoch;
    const shown = record.shown.filter((s) => s.epoch === epoch).map((s) => s.seq);
    for (let i = 1; i < shown.length; i++) {
      if (shown[i]! <= shown[i - 1]!) return `I12 events: epoch ${epoch.slice(0, 8)} shown out of order or twice: ${shown.join(',')}`;
    }
    const starts = record.readies.filter((r) => r.epoch === epoch);
    if (starts.length === 0) continue;
    // From where the client first joined this epoch, every seq up to the log's end is shown or excused.
    const from = Math.min(...starts.map((r) => r.lastSeq));
    const excused = (seq: number) =>
      record.missed.some((m) => m.epoch === epoch && m.afterSeq !== undefined && seq > m.afterSeq && (m.liveEpoch !== epoch || seq <= m.liveFromSeq));
    const shownSet = new Set(shown);
    const last = log.lastSeq('alice');
    for (let seq = from + 1; seq <= last; seq++) {
      if (!shownSet.has(seq) && !excused(seq)) return `I12 events: epoch ${epoch.slice(0, 8)} seq ${seq} was never shown and no missing range covers it (shown ${shown.join(',')}; missed ${JSON.stringify(record.missed)})`;
    }
  }

  // Runs: none left open at rest (every server run has ended or was lost with its log).
  for (const run of snapshot.runs) {
    if (run.status === 'running') return `I12 runs: run ${run.runId} is still "${run.status}" at rest (its end was missed and it was not marked interrupted)`;
  }
  return undefined;
}
