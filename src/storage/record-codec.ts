/**
 * Record framing, shared by every WAL segment:
 *
 *   [length u32 LE][crc32c u32 LE][type u8][payload ...]
 *    length = bytes of type + payload; crc32c covers type + payload.
 *
 * Zeros from some offset to the end are not a bad spot but the end of the records:
 * segment files are preallocated, so their unused tails read as zeros.
 *
 * The scanner reads records from a segment's bytes and, at the first record that
 * does not check out, says where and why, and whether any valid record follows it.
 * That last answer is what separates the two cases recovery must never confuse
 * (docs/internals/design.md, "Durability"):
 *   - nothing valid after the bad spot: a write that was cut short by a crash (a
 *     torn tail), never acknowledged, safe to drop;
 *   - valid records after it: the bad bytes sit in the middle of data that was
 *     once durable, so this is corruption and dropping it would lose acknowledged
 *     writes silently.
 */
import type { ByteWriter } from '../lib/index.js';
import { crc32c } from './crc32c.js';

export const RECORD_HEADER_BYTES = 8;
/** No record is this large (entries are capped at a few MiB); a bigger length is damage. */
export const RECORD_BYTES_MAX = 256 * 1024 * 1024;

/** Appends one framed record; `writePayload` writes the payload after the type byte. */
export function appendRecord(w: ByteWriter, type: number, writePayload: (w: ByteWriter) => void): void {
  const start = w.size;
  w.u32(0).u32(0).u8(type);
  writePayload(w);
  const length = w.size - start - RECORD_HEADER_BYTES;
  if (length > RECORD_BYTES_MAX) throw new RangeError(`record of ${length} bytes exceeds the limit of ${RECORD_BYTES_MAX}`);
  w.patchU32(start, length);
  w.patchU32(start + 4, crc32c(w.written().subarray(start + RECORD_HEADER_BYTES)));
}

export interface RawRecord {
  /** Where the record's length field starts in the file. */
  readonly offset: number;
  /** Where the next record would start. */
  readonly end: number;
  readonly type: number;
  /** A view into the scanned bytes. */
  readonly payload: Uint8Array;
}

export interface BadSpot {
  readonly offset: number;
  readonly reason: string;
  /** The offset of the first valid record after the bad spot, if there is one. */
  readonly nextValidOffset: number | undefined;
}

export interface ScanResult {
  readonly records: RawRecord[];
  /** Bytes up to the end of the last good record before any bad spot. */
  readonly goodBytes: number;
  readonly bad: BadSpot | undefined;
}

/** A record that checks out at an offset, or why not (`needBytes`: it runs past the bytes given, which must hold that many from the offset). */
export type Attempt = { ok: true; record: RawRecord; next: number } | { ok: false; reason: string; needBytes?: number };

/** The record at `offset` of `data`, checked. */
export function recordAt(data: Uint8Array, offset: number): Attempt {
  return tryRecordAt(data, new DataView(data.buffer, data.byteOffset, data.byteLength), offset);
}

function tryRecordAt(data: Uint8Array, view: DataView, offset: number): Attempt {
  const left = data.length - offset;
  if (left < RECORD_HEADER_BYTES + 1) return { ok: false, reason: `partial record header (${left} bytes left)` };
  const length = view.getUint32(offset, true);
  if (length === 0) return { ok: false, reason: 'zero length' };
  if (length > RECORD_BYTES_MAX) return { ok: false, reason: `length ${length} exceeds the record limit` };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > data.length) {
    return {
      ok: false,
      reason: `record of ${length} bytes runs past the end of the file (${left - RECORD_HEADER_BYTES} bytes left)`,
      needBytes: RECORD_HEADER_BYTES + length,
    };
  }
  const body = data.subarray(offset + RECORD_HEADER_BYTES, end);
  if (crc32c(body) !== view.getUint32(offset + 4, true)) return { ok: false, reason: 'crc mismatch' };
  return { ok: true, record: { offset, end, type: body[0] as number, payload: body.subarray(1) }, next: end };
}

/** Zeros to compare a segment's tail with, a chunk at a time: memcmp, not a byte loop (a fresh segment is 64 MiB of zeros, 70 ms a byte at a time). */
const zeroChunk = new Uint8Array(64 * 1024);

function allZero(data: Uint8Array, from: number): boolean {
  for (let at = from; at < data.length; at += zeroChunk.length) {
    const chunk = data.subarray(at, Math.min(at + zeroChunk.length, data.length));
    if (Buffer.compare(chunk, zeroChunk.subarray(0, chunk.length)) !== 0) return false;
  }
  return true;
}

export function scanRecords(data: Uint8Array): ScanResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: RawRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
    const attempt = tryRecordAt(data, view, offset);
    if (attempt.ok) {
      records.push(attempt.record);
      offset = attempt.next;
      continue;
    }
    // Zeros to the end are space reserved for records not yet written (segments are
    // preallocated), or a write whose data never landed before a crash: never
    // acknowledged either way, so not damage.
    if (allZero(data, offset)) break;
    return { records, goodBytes: offset, bad: { offset, reason: attempt.reason, nextValidOffset: findValidRecord(data, view, offset + 1) } };
  }
  return { records, goodBytes: offset, bad: undefined };
}

/**
 * Looks for a record that checks out at any byte offset from `from` on. A torn
 * tail is at most one write long, so in the common case this scans little; a
 * false positive needs a 1-in-2^32 checksum match and would only make recovery
 * refuse to start, the safe direction.
 */
function findValidRecord(data: Uint8Array, view: DataView, from: number): number | undefined {
  for (let offset = from; offset + RECORD_HEADER_BYTES < data.length; offset++) {
    if (tryRecordAt(data, view, offset).ok) return offset;
  }
  return undefined;
}
