/**
 * Unsigned LEB128 varints: 7 bits a byte, least significant first, the high bit set on
 * every byte but the last. Integers are JavaScript numbers, so a varint holds at most
 * 2^53 - 1 (Number.MAX_SAFE_INTEGER): at most 8 bytes. Only the shortest encoding of a
 * value is accepted, so each value has exactly one encoding and a round trip through
 * decode and encode gives back the same bytes.
 */

/** Bytes a varint of Number.MAX_SAFE_INTEGER takes (53 bits / 7 bits per byte). */
export const varintBytesMax = 8;

/** How many bytes the varint of `value` takes. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/**
 * Writes the varint of `value` (a safe, non-negative integer) at `offset` of `bytes`,
 * which has room for varintSize(value) bytes there; returns the offset after it.
 */
export function writeVarintAt(bytes: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    bytes[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[offset++] = value;
  return offset;
}

/** Why readVarintAt found no varint (negative, so never a value). */
export const VarintProblem = { truncated: -1, overlong: -2, tooLong: -3, unsafe: -4 } as const;

/** What a VarintProblem code means, for an error message. */
export function varintProblemText(code: number): string {
  switch (code) {
    case VarintProblem.truncated:
      return 'truncated varint';
    case VarintProblem.overlong:
      return 'overlong varint (not minimally encoded)';
    case VarintProblem.tooLong:
      return `varint longer than ${varintBytesMax} bytes`;
    default:
      return 'varint exceeds 2^53 - 1';
  }
}

/**
 * The varint at `offset` of `bytes` (read no further than `end`), or a negative VarintProblem code. Allocates
 * nothing (it runs for every integer of every peer message); the caller moves past it
 * by varintSize(value), which is its length, since only the shortest encoding is
 * accepted.
 */
export function readVarintAt(bytes: Uint8Array, offset: number, end = bytes.length): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < varintBytesMax; i++) {
    if (offset + i >= end) return VarintProblem.truncated;
    const byte = bytes[offset + i] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) return VarintProblem.overlong;
      if (value > Number.MAX_SAFE_INTEGER) return VarintProblem.unsafe;
      return value;
    }
    scale *= 0x80;
  }
  return VarintProblem.tooLong;
}
