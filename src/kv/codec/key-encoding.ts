/**
 * How a user key and a revision become one LMDB key, so that LMDB's byte order is the
 * order the store needs: by user key, then by revision. A plain concatenation would not
 * do: key "a" at some revision and key "a\0" would interleave. We use the
 * "memcomparable" group encoding (as TiDB/MyRocks do): the key is cut into groups of 8
 * bytes, the last one padded with zeros, and each group is followed by a marker byte:
 * 0xFF if more groups follow, else 0xFF - (number of padding bytes), in 0xF7..0xFE.
 * The encoding is order-preserving (a < b exactly when enc(a) < enc(b)) and prefix-free
 * (no encoding is a prefix of another), so every revision of a key sits in one
 * contiguous run, and a range [a, b) of user keys is the range [enc(a), enc(b)) of LMDB keys.
 *
 * Revisions are 8 bytes big-endian, so they sort numerically.
 *
 * Cost: 9 bytes per 8 (12.5%), which bounds the key size: lmdb-js accepts LMDB keys of at
 * most 4026 bytes (with 8 KiB pages; measured), so a user key may have at most
 * KEY_BYTES_PHYSICAL_MAX = 3567 bytes (446 groups of 9 bytes + 8 bytes of revision = 4022).
 */
import { assert } from '../../lib/index.js';

const GROUP_BYTES = 8;
const MARKER_MORE = 0xff;
export const REVISION_BYTES = 8;
/** The largest LMDB key lmdb-js accepts with 8 KiB pages (measured; 1978 with 4 KiB pages). */
export const LMDB_KEY_BYTES_MAX = 4026;
/** The longest user key whose encoding plus a revision fits in an LMDB key. */
export const KEY_BYTES_PHYSICAL_MAX = 3567;

/** Length of the encoding of a key of `keyBytes` bytes. */
export function encodedLength(keyBytes: number): number {
  return (Math.floor(keyBytes / GROUP_BYTES) + 1) * (GROUP_BYTES + 1);
}

assert(encodedLength(KEY_BYTES_PHYSICAL_MAX) + REVISION_BYTES <= LMDB_KEY_BYTES_MAX, 'physical key limit too large');
assert(encodedLength(KEY_BYTES_PHYSICAL_MAX + 1) + REVISION_BYTES > LMDB_KEY_BYTES_MAX, 'physical key limit too small');

/**
 * The order-preserving, prefix-free encoding of a user key. Byte by byte: a subarray
 * per group to copy with set() made encoding a 256-byte key a sixth of a put's apply.
 */
export function encodeKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(encodedLength(key.length));
  let o = 0;
  let i = 0;
  // Each full group is followed by another group, possibly all padding.
  for (; i + GROUP_BYTES <= key.length; i += GROUP_BYTES) {
    for (let j = i; j < i + GROUP_BYTES; j++) out[o++] = key[j] as number;
    out[o++] = MARKER_MORE;
  }
  const remaining = key.length - i;
  for (let j = i; j < key.length; j++) out[o++] = key[j] as number;
  for (let pad = remaining; pad < GROUP_BYTES; pad++) out[o++] = 0;
  out[o++] = MARKER_MORE - (GROUP_BYTES - remaining);
  assert(o === out.length, 'key encoding length');
  return out;
}

/**
 * The length of the encoded key at the start of `data` (which may continue with a
 * revision). Throws on bytes that are no encoding: stored data is ours, so that is a bug
 * or corruption.
 */
export function encodedKeyLength(data: Uint8Array): number {
  for (let o = GROUP_BYTES; o < data.length; o += GROUP_BYTES + 1) {
    const marker = data[o] as number;
    if (marker !== MARKER_MORE) {
      assert(marker >= MARKER_MORE - GROUP_BYTES, () => `bad key encoding: marker ${marker} at byte ${o}`);
      return o + 1;
    }
  }
  assert(false, 'bad key encoding: no final group');
}

/** The user key from its encoding (the first encodedKeyLength(data) bytes of `data`). */
export function decodeKey(data: Uint8Array): Uint8Array {
  const length = encodedKeyLength(data);
  const groups = length / (GROUP_BYTES + 1);
  const lastPadding = MARKER_MORE - (data[length - 1] as number);
  const out = new Uint8Array(groups * GROUP_BYTES - lastPadding);
  let o = 0;
  for (let g = 0; g < groups; g++) {
    const from = g * (GROUP_BYTES + 1);
    const take = g === groups - 1 ? GROUP_BYTES - lastPadding : GROUP_BYTES;
    for (let j = from; j < from + take; j++) out[o++] = data[j] as number;
  }
  return out;
}

/** The LMDB key of `encodedKey` at `revision`. */
export function historyKey(encodedKey: Uint8Array, revision: number): Buffer {
  return writeHistoryKey(Buffer.allocUnsafe(encodedKey.length + REVISION_BYTES), encodedKey, revision);
}

/** historyKey written into `out` (exactly its length), which it returns. */
export function writeHistoryKey(out: Buffer, encodedKey: Uint8Array, revision: number): Buffer {
  out.set(encodedKey, 0);
  writeRevision(out, encodedKey.length, revision);
  return out;
}

/** An LMDB key after every revision of `encodedKey` and before the next key. */
export function afterAllRevisions(encodedKey: Uint8Array): Buffer {
  const out = Buffer.alloc(encodedKey.length + REVISION_BYTES, 0xff);
  out.set(encodedKey, 0);
  return out;
}

/** The revision at the end of a history key. */
export function revisionOfHistoryKey(historyKeyBytes: Uint8Array): number {
  return readRevision(historyKeyBytes, historyKeyBytes.length - REVISION_BYTES);
}

export function writeRevision(out: Uint8Array, offset: number, revision: number): void {
  assert(Number.isSafeInteger(revision) && revision >= 0, () => `bad revision ${revision}`);
  if (offset < 0 || offset + REVISION_BYTES > out.length) throw new RangeError(`no room for a revision at offset ${offset} of ${out.length} bytes`);
  writeUint32(out, offset, Math.floor(revision / 0x1_0000_0000));
  writeUint32(out, offset + 4, revision >>> 0);
}

// Byte by byte rather than through a DataView: every history key read or written goes
// through these, and a DataView per call was a measurable share of a compaction step.
export function readRevision(data: Uint8Array, offset: number): number {
  if (offset < 0 || offset + REVISION_BYTES > data.length) throw new RangeError(`no revision at offset ${offset} of ${data.length} bytes`);
  return readUint32(data, offset) * 0x1_0000_0000 + readUint32(data, offset + 4);
}

function readUint32(data: Uint8Array, offset: number): number {
  return (((data[offset] as number) << 24) | ((data[offset + 1] as number) << 16) | ((data[offset + 2] as number) << 8) | (data[offset + 3] as number)) >>> 0;
}

function writeUint32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

/** 8 bytes big-endian. */
export function revisionBytes(revision: number): Buffer {
  const out = Buffer.allocUnsafe(REVISION_BYTES);
  writeRevision(out, 0, revision);
  return out;
}
