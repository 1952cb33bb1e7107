/**
 * An append-only byte buffer for Keel's binary formats (WAL records, snapshot files,
 * peer messages, replicated commands, the store's records). Varints for integers whose
 * size varies; fixed little-endian u32 and u53 where a format needs a fixed width
 * (a length or checksum patched in afterwards, a header read before its record).
 * Every method checks its value: a value out of range is a bug, never written.
 */
import { assert } from '../assert.js';
import { varintBytesMax, writeVarintAt } from './varint.js';

const utf8Encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** Where a writer emptied by finish() grows from when it is written again. */
const REGROW_BYTES = 64;

export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialBytes = 256) {
    assert(Number.isSafeInteger(initialBytes) && initialBytes > 0, 'ByteWriter: initialBytes must be a positive integer');
    this.buffer = new Uint8Array(initialBytes);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  /** The bytes written so far, as a view valid until the next write. */
  written(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /**
   * The bytes written, trimmed to size, handed over: the writer starts empty again.
   * They are the writer's own buffer when at most an eighth of it is unused, else a
   * copy: a writer sized for its contents (a 64 KiB value's record) then costs no
   * second allocation and copy, and a small one left mostly empty keeps no slack alive.
   */
  finish(): Uint8Array {
    const { buffer, length } = this;
    this.buffer = EMPTY;
    this.length = 0;
    return length >= buffer.length - (buffer.length >>> 3) ? buffer.subarray(0, length) : buffer.slice(0, length);
  }

  /** Empties the writer and keeps its buffer: for bytes handed to a call that copies them before it returns. */
  reset(): this {
    this.length = 0;
    return this;
  }

  u8(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, () => `u8 out of range: ${value}`);
    this.reserve(1);
    this.buffer[this.length++] = value;
    return this;
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** An unsigned integer in [0, 2^53) as a varint. */
  varint(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, () => `varint out of range: ${value}`);
    this.reserve(varintBytesMax);
    this.length = writeVarintAt(this.buffer, this.length, value);
    return this;
  }

  /** Four bytes, little-endian. */
  u32(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, () => `u32 out of range: ${value}`);
    this.reserve(4);
    this.putU32(this.length, value);
    this.length += 4;
    return this;
  }

  /** A non-negative safe integer in eight bytes, little-endian. */
  u53(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, () => `u53 out of range: ${value}`);
    this.reserve(8);
    this.putU32(this.length, value % 0x1_0000_0000);
    this.putU32(this.length + 4, Math.floor(value / 0x1_0000_0000));
    this.length += 8;
    return this;
  }

  /** Bytes as they are, no length. */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** A varint length, then the bytes. */
  byteString(bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes);
  }

  /** A varint byte length, then the UTF-8 bytes. */
  string(text: string): this {
    return this.byteString(utf8Encoder.encode(text));
  }

  /** Overwrites the u32 at an earlier position (a length or checksum known late). */
  patchU32(position: number, value: number): void {
    assert(position + 4 <= this.length, () => `patch at ${position} is past the end ${this.length}`);
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, () => `u32 out of range: ${value}`);
    this.putU32(position, value);
  }

  private putU32(position: number, value: number): void {
    this.buffer[position] = value & 0xff;
    this.buffer[position + 1] = (value >>> 8) & 0xff;
    this.buffer[position + 2] = (value >>> 16) & 0xff;
    this.buffer[position + 3] = (value >>> 24) & 0xff;
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    let capacity = Math.max(this.buffer.length * 2, REGROW_BYTES);
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}
