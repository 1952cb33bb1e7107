/**
 * Little-endian binary writing and reading for the on-disk formats.
 *
 * Integers that can grow past 2^32 (terms, indexes, sizes) are stored in 8 bytes
 * but must stay safe JavaScript integers (< 2^53): a value beyond that could not
 * be represented exactly in memory, so the reader treats it as malformed input
 * rather than rounding it.
 */

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buffer.buffer);
  }

  get size(): number {
    return this.length;
  }

  u8(value: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a u32: ${value}`);
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
    return this;
  }

  /** A non-negative safe integer in 8 bytes. */
  u53(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative safe integer: ${value}`);
    this.reserve(8);
    this.view.setUint32(this.length, value % 0x1_0000_0000, true);
    this.view.setUint32(this.length + 4, Math.floor(value / 0x1_0000_0000), true);
    this.length += 8;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** Writes a u32 at an earlier position (for lengths and checksums known late). */
  patchU32(position: number, value: number): void {
    if (position + 4 > this.length) throw new RangeError(`patch at ${position} is past the end ${this.length}`);
    this.view.setUint32(position, value, true);
  }

  /** A view of the bytes written so far (valid until the next write). */
  written(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }
}

/** Thrown when bytes do not decode; callers turn it into an error naming the file. */
export class MalformedError extends Error {
  override name = 'MalformedError';
}

export class ByteReader {
  private readonly view: DataView;
  private position = 0;

  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get remaining(): number {
    return this.data.length - this.position;
  }

  u8(): number {
    this.need(1, 'u8');
    const value = this.view.getUint8(this.position);
    this.position += 1;
    return value;
  }

  u32(): number {
    this.need(4, 'u32');
    const value = this.view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  u53(): number {
    this.need(8, 'u64');
    const low = this.view.getUint32(this.position, true);
    const high = this.view.getUint32(this.position + 4, true);
    if (high > 0x1fffff) throw new MalformedError(`integer at byte ${this.position} exceeds 2^53`);
    this.position += 8;
    return high * 0x1_0000_0000 + low;
  }

  /** A copy of the next `length` bytes, so the result does not pin the whole buffer. */
  bytes(length: number): Uint8Array {
    this.need(length, `${length} bytes`);
    const out = this.data.slice(this.position, this.position + length);
    this.position += length;
    return out;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new MalformedError(`${this.remaining} unexpected bytes after ${what}`);
  }

  private need(count: number, what: string): void {
    if (this.remaining < count) throw new MalformedError(`truncated: needed ${what} at byte ${this.position}, only ${this.remaining} left`);
  }
}
