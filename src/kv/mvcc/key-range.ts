/**
 * etcd's key range semantics, in one place. A range is (key, rangeEnd):
 *   - rangeEnd absent or empty: the single key `key`;
 *   - rangeEnd = [0x00]: every key >= `key`;
 *   - otherwise: every key in [key, rangeEnd) (empty if rangeEnd <= key; validate.ts
 *     refuses such requests at the boundary).
 * A prefix is the range [prefix, prefixEnd(prefix)).
 */

/** Byte-wise comparison: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

export function isSingleKey(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd === undefined || rangeEnd.length === 0;
}

/** rangeEnd = [0x00]: every key from `key` on. */
export function isFromKey(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
}

/** Whether `candidate` lies in the range (key, rangeEnd). */
export function inRange(candidate: Uint8Array, key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
  if (isSingleKey(rangeEnd)) return bytesEqual(candidate, key);
  if (compareBytes(candidate, key) < 0) return false;
  if (isFromKey(rangeEnd)) return true;
  return compareBytes(candidate, rangeEnd as Uint8Array) < 0;
}

/** The exclusive end of the keys starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if ((prefix[i] as number) < 0xff) {
      // A copy even when `prefix` is a Buffer (whose slice() would share its bytes).
      const end = Uint8Array.from(prefix.subarray(0, i + 1));
      end[i] = (end[i] as number) + 1;
      return end;
    }
  }
  // Every byte is 0xff (or the prefix is empty): no end; mean "every key from prefix on".
  return new Uint8Array([0]);
}
