/**
 * `import 'lockstep/ag-ui'` loads src/ag-ui/entry.ts, which re-exports index.ts by name behind
 * the check for its optional peer @ag-ui/client. Its names must be index.ts's, every
 * one, bound to the same values; agUiHandler refuses a bad option with LOCKSTEP_ERR_INVALID_OPTION.
 */
import { describe, expect, it } from 'vitest';
import * as entry from '../../src/ag-ui/entry.js';
import * as index from '../../src/ag-ui/index.js';

describe('lockstep/ag-ui entry', () => {
  it('exports exactly the runtime names of src/ag-ui/index.ts, with the same values', () => {
    expect(Object.keys(entry).sort()).toEqual(Object.keys(index).sort());
    for (const [name, value] of Object.entries(index)) expect((entry as Record<string, unknown>)[name], name).toBe(value);
  });

  it('agUiHandler: a url that is not http(s), or a bound that is not a positive integer, is LOCKSTEP_ERR_INVALID_OPTION', () => {
    expect(() => index.agUiHandler({ url: 'ws://agent/' })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION', message: 'agUiHandler(): url must be an http:// or https:// URL, got "ws://agent/"' }));
    expect(() => index.agUiHandler({ url: 'agent' })).toThrow(expect.objectContaining({ code: 'LOCKSTEP_ERR_INVALID_OPTION' }));
    expect(() => index.agUiHandler({ url: 'http://agent/', maxEventBytes: 0 })).toThrow(expect.objectContaining({ message: 'agUiHandler(): maxEventBytes must be a positive integer, got 0' }));
    expect(() => index.agUiHandler({ url: 'http://agent/', maxTrackedIds: 1.5 })).toThrow(expect.objectContaining({ message: 'agUiHandler(): maxTrackedIds must be a positive integer, got 1.5' }));
  });

  it('the checker bounds its memory: more ids than maxTrackedIds in one run is refused, naming the bound', () => {
    const checker = new index.AgUiRunChecker(3);
    expect(checker.accept({ type: 'RUN_STARTED', threadId: 't', runId: 'r' }).ok).toBe(true);
    for (const id of ['a', 'b', 'c']) expect(checker.accept({ type: 'TEXT_MESSAGE_START', messageId: id }).ok).toBe(true);
    expect(checker.accept({ type: 'TOOL_CALL_START', toolCallId: 'd', toolCallName: 'f' })).toEqual({ ok: false, detail: 'event 5 (TOOL_CALL_START): more than 3 message and tool call ids in one run (maxTrackedIds)' });
    expect(checker.accept({ type: 'TEXT_MESSAGE_END', messageId: 'a' }).ok, 'a refusal is final').toBe(false);
    expect(new index.AgUiRunChecker().accept({ type: 'RUN_STARTED' })).toMatchObject({ ok: true });
    const long = new index.AgUiRunChecker();
    long.accept({ type: 'RUN_STARTED' });
    expect(long.accept({ type: 'TEXT_MESSAGE_START', messageId: 'x'.repeat(257) })).toEqual({ ok: false, detail: 'event 2 (TEXT_MESSAGE_START): messageId must be 1–256 characters, got 257' });
  });
});
