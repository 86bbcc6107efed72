/**
 * The resume request carried by the upgrade URL: `?epoch=<e>&lastSeq=<n>`. Both must be
 * present and `lastSeq` a non-negative integer; anything else is no request (a fresh join).
 */
import type { ResumeRequest } from './frames.js';

export function resumeFromUrl(url: string | undefined): ResumeRequest | undefined {
  const query = url?.split('?')[1];
  if (query === undefined) return undefined;
  const params = new URLSearchParams(query);
  const epoch = params.get('epoch');
  const lastSeqText = params.get('lastSeq');
  if (!epoch || lastSeqText === null || !/^\d{1,15}$/.test(lastSeqText)) return undefined;
  return { epoch, lastSeq: Number(lastSeqText) };
}
