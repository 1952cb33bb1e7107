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
 * Decodes one varint from `nextByte`, which returns the next input byte (or calls
 * `fail` at the end of the input); `fail` reports what is wrong and never returns.
 * Shared by ByteReader and the streaming readers that pull bytes from a file.
 */
export function decodeVarint(nextByte: () => number, fail: (problem: string) => never): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < varintBytesMax; i++) {
    const byte = nextByte();
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) fail('overlong varint (not minimally encoded)');
      if (value > Number.MAX_SAFE_INTEGER) fail(`integer ${value} exceeds 2^53 - 1`);
      return value;
    }
    scale *= 0x80;
  }
  return fail(`varint longer than ${varintBytesMax} bytes`);
}
