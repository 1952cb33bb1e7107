/**
 * Byte-level writing and reading for the peer wire formats (messages and the
 * handshake): unsigned LEB128 varints for every integer, length-prefixed byte
 * strings and UTF-8 strings.
 *
 * Integers are JavaScript numbers, so a varint holds at most 2^53 - 1
 * (Number.MAX_SAFE_INTEGER): at most 8 bytes of 7 bits. The reader accepts only the
 * shortest encoding of each value, so one value has exactly one encoding and a
 * round trip through decode and encode gives back the same bytes.
 *
 * The reader never trusts a length: every length is checked against the bytes left
 * before anything is read or allocated, and every failure goes through `fail`, which
 * names the field being read.
 */
import { assert } from '../lib/assert.js';

/** Bytes a varint of Number.MAX_SAFE_INTEGER takes (53 bits / 7 bits per byte). */
export const varintBytesMax = 8;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** How many bytes `varint(value)` writes. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** An append-only byte buffer that grows by doubling. */
export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialBytes = 64) {
    assert(isUint(initialBytes) && initialBytes > 0, 'ByteWriter: initialBytes must be a positive integer');
    this.buffer = new Uint8Array(initialBytes);
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  u8(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, () => `u8 out of range: ${value}`);
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** An unsigned integer in [0, 2^53). */
  varint(value: number): void {
    assert(isUint(value), () => `varint out of range: ${value}`);
    this.reserve(varintBytesMax);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  /** A varint length, then the bytes. */
  byteString(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  /** A varint byte length, then the UTF-8 bytes. */
  string(value: string): void {
    this.byteString(utf8Encoder.encode(value));
  }

  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/** Reads what ByteWriter wrote, validating as it goes. */
export class ByteReader {
  private offset = 0;

  /**
   * @param bytes the input; byte strings read from it are copied out, so the result
   *   never keeps a (possibly large) network buffer alive.
   * @param fail throws an error naming `field` and the problem; never returns.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: (field: string, problem: string) => never,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  u8(field: string): number {
    if (this.remaining < 1) this.fail(field, `truncated at byte ${this.offset}`);
    return this.bytes[this.offset++] as number;
  }

  bool(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) this.fail(field, `expected a boolean (0 or 1), got ${value}`);
    return value === 1;
  }

  varint(field: string): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < varintBytesMax; i++) {
      if (this.remaining < 1) this.fail(field, `truncated varint at byte ${start}`);
      const byte = this.bytes[this.offset++] as number;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) this.fail(field, `overlong varint at byte ${start}`);
        if (value > Number.MAX_SAFE_INTEGER) this.fail(field, `integer ${value} exceeds 2^53 - 1`);
        return value;
      }
      scale *= 0x80;
    }
    return this.fail(field, `varint longer than ${varintBytesMax} bytes at byte ${start}`);
  }

  /** A varint no larger than `max`. */
  varintMax(field: string, max: number): number {
    const value = this.varint(field);
    if (value > max) this.fail(field, `${value} exceeds ${max}`);
    return value;
  }

  /** A varint of at least 1. */
  positiveVarint(field: string): number {
    const value = this.varint(field);
    if (value === 0) this.fail(field, 'must be at least 1');
    return value;
  }

  /** A count of items that each take at least `itemBytesMin` bytes; bounded by the
   * bytes left, so a forged count cannot make the caller loop or allocate. */
  count(field: string, itemBytesMin: number): number {
    assert(itemBytesMin >= 1, 'count: itemBytesMin must be at least 1');
    const value = this.varint(field);
    if (value * itemBytesMin > this.remaining) {
      this.fail(field, `count ${value} needs at least ${value * itemBytesMin} bytes, only ${this.remaining} left`);
    }
    return value;
  }

  /** A copy of a length-prefixed byte string. */
  byteString(field: string): Uint8Array {
    const length = this.varint(`${field}.length`);
    if (length > this.remaining) this.fail(field, `length ${length} exceeds the ${this.remaining} bytes left`);
    // A fresh Uint8Array, never a view: Buffer.prototype.slice (our input is often a
    // Buffer from a socket) would return a view sharing the network chunk's memory.
    const value = new Uint8Array(length);
    value.set(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  /** A length-prefixed UTF-8 string of at most `bytesMax` bytes. */
  string(field: string, bytesMax = Number.MAX_SAFE_INTEGER): string {
    const length = this.varint(`${field}.length`);
    if (length > bytesMax) this.fail(field, `length ${length} exceeds ${bytesMax} bytes`);
    if (length > this.remaining) this.fail(field, `length ${length} exceeds the ${this.remaining} bytes left`);
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return utf8Decoder.decode(view);
    } catch {
      return this.fail(field, 'is not valid UTF-8');
    }
  }

  /** Exactly `length` bytes, as a view (callers compare them, never keep them). */
  rawView(field: string, length: number): Uint8Array {
    if (length > this.remaining) this.fail(field, `truncated: needs ${length} bytes, only ${this.remaining} left`);
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** Every byte must have been consumed. */
  end(what: string): void {
    if (this.remaining !== 0) this.fail(what, `${this.remaining} unexpected trailing bytes after byte ${this.offset}`);
  }
}
