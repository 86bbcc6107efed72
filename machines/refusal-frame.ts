/**
 * The error frame the connection machine writes when the server refused a user's request
 * about a run: a `cancel` of no open run of theirs, an `approve` that no approval waits for.
 */
import type { ErrorFrame } from '../src/protocol/frames.js';

/** What the server answered the machine's `cancelRun` / `answerApproval` effect with. */
export type RunRequestRefused =
  | { type: 'cancel.refused'; runId: string }
  | { type: 'approval.refused'; runId: string; toolCallId: string };

export function refusalFrame(refused: RunRequestRefused): ErrorFrame {
  if (refused.type === 'cancel.refused') {
    return {
      type: 'error',
      code: 'LOCKSTEP_E_RUN_NOT_CANCELLABLE',
      message: 'no open run of yours with this id on this server: it ended, is unknown, or is not yours',
      ref: refused.runId,
    };
  }
  return {
    type: 'error',
    code: 'LOCKSTEP_E_APPROVAL_NOT_PENDING',
    message: `no approval of tool call ${refused.toolCallId} waits for an answer: it was answered first, timed out, or is not yours`,
    ref: refused.runId,
  };
}
