/**
 * The bound on a user id (a JWT `sub`, or what a custom verifyToken returns): it is logged,
 * used as a key of the event log and echoed in the ready frame, so it must be short and
 * printable. docs/protocol.md "Subjects".
 */

/** Longest accepted user id, in UTF-16 code units. */
export const MAX_SUBJECT_LENGTH = 256;

// No control characters (newlines, NUL, ESC…), no invisible format characters (bidi
// overrides, zero-width), no line/paragraph separators, no lone surrogates.
const SUBJECT = /^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]+$/u;

/** True when `userId` is 1–256 characters with no control, format or separator characters. */
export function isValidSubject(userId: unknown): userId is string {
  return typeof userId === 'string' && userId.length > 0 && userId.length <= MAX_SUBJECT_LENGTH && SUBJECT.test(userId);
}
