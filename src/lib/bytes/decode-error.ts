/**
 * Bytes that do not decode: truncated, overlong, out of range, not UTF-8. Thrown by
 * ByteReader (unless its owner supplies its own failure) and by the formats built on
 * it; each caller turns it into an error naming what it was reading (a WAL segment, a
 * snapshot file, a peer's message, a log entry).
 */
export class DecodeError extends Error {
  override name = 'DecodeError';
}
