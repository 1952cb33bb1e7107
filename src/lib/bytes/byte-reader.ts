/**
 * Reads what ByteWriter wrote, trusting nothing: every length is checked against the
 * bytes left before anything is read or allocated, a count is bounded by the bytes its
 * items need, and every failure names the field being read when the caller names it.
 * A corrupt or hostile input is refused whole, never half-understood.
 */
import { assert } from '../assert.js';
import { DecodeError } from './decode-error.js';
import { readVarintAt, varintProblemText, varintSize } from './varint.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reports what is wrong with the input and never returns. */
export type DecodeFailure = (field: string | undefined, problem: string) => never;

const throwDecodeError: DecodeFailure = (field, problem) => {
  throw new DecodeError(field === undefined ? problem : `${field}: ${problem}`);
};

export class ByteReader {
  private offset = 0;

  /**
   * @param bytes the input. Byte strings read from it are copies (but see view()), so
   *   a result never keeps a (possibly large) network or file buffer alive.
   * @param fail how a failure is reported; by default a DecodeError.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: DecodeFailure = throwDecodeError,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  u8(field?: string): number {
    if (this.remaining < 1) this.fail(field, `truncated at byte ${this.offset}`);
    return this.bytes[this.offset++] as number;
  }

  bool(field?: string): boolean {
    const value = this.u8(field);
    if (value > 1) this.fail(field, `expected a boolean (0 or 1), got ${value} at byte ${this.offset - 1}`);
    return value === 1;
  }

  varint(field?: string): number {
    const value = readVarintAt(this.bytes, this.offset);
    if (value < 0) this.fail(field, `${varintProblemText(value)} at byte ${this.offset}`);
    this.offset += varintSize(value);
    return value;
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

  /** Four bytes, little-endian. */
  u32(field?: string): number {
    this.need(4, field);
    const at = this.offset;
    const bytes = this.bytes;
    this.offset += 4;
    return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) + (bytes[at + 3] as number) * 0x100_0000;
  }

  /** Eight bytes, little-endian, holding a safe integer (larger is malformed, not rounded). */
  u53(field?: string): number {
    const at = this.offset;
    const low = this.u32(field);
    const high = this.u32(field);
    if (high > 0x1fffff) this.fail(field, `integer at byte ${at} exceeds 2^53 - 1`);
    return high * 0x1_0000_0000 + low;
  }

  /** A copy of the next `length` bytes. */
  raw(length: number, field?: string): Uint8Array {
    // A fresh Uint8Array, never a view: Buffer.prototype.slice (the input is often a
    // Buffer from a socket or a file) would return a view sharing its memory.
    return new Uint8Array(this.view(length, field));
  }

  /** The next `length` bytes as a view into the input: valid while the input is, for
   * callers that compare or decode them at once and never keep them. */
  view(length: number, field?: string): Uint8Array {
    this.need(length, field);
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** A copy of the rest of the input. */
  rest(): Uint8Array {
    return this.raw(this.remaining);
  }

  /** A copy of a varint-length-prefixed byte string. */
  byteString(field?: string): Uint8Array {
    const length = this.varint(field === undefined ? undefined : `${field}.length`);
    return this.raw(length, field);
  }

  /** A varint-length-prefixed UTF-8 string of at most `bytesMax` bytes. */
  string(field?: string, bytesMax = Number.MAX_SAFE_INTEGER): string {
    const length = this.varint(field === undefined ? undefined : `${field}.length`);
    if (length > bytesMax) this.fail(field, `length ${length} exceeds ${bytesMax} bytes`);
    const bytes = this.view(length, field);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail(field, `invalid UTF-8 before byte ${this.offset}`);
    }
  }

  /** Every byte must have been consumed; `what` names what was read. */
  end(what?: string): void {
    if (this.remaining !== 0) this.fail(what, `${this.remaining} unexpected trailing bytes after byte ${this.offset}`);
  }

  private need(length: number, field: string | undefined): void {
    if (length > this.remaining) this.fail(field, `truncated: ${length} bytes wanted at byte ${this.offset}, only ${this.remaining} left`);
  }
}
