/**
 * A small binary writer and reader: unsigned LEB128 varints (up to 2^53 - 1, the safe
 * integers), length-prefixed byte strings and UTF-8 strings, single bytes. The reader is
 * strict: any read past the end, an over-long varint, or a length that runs past the end
 * throws a DecodeError, so a corrupt or hostile input can never be half-understood.
 */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buffer: Uint8Array;
  private written = 0;

  constructor(initialBytes = 256) {
    this.buffer = new Uint8Array(initialBytes);
  }

  private reserve(bytes: number): void {
    if (this.written + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.written + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.written));
    this.buffer = next;
  }

  byte(value: number): this {
    this.reserve(1);
    this.buffer[this.written++] = value & 0xff;
    return this;
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  /** An unsigned varint; `value` must be a safe non-negative integer. */
  uint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as an unsigned varint`);
    this.reserve(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.written++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.written++] = rest;
    return this;
  }

  /** Raw bytes, no length. */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.written);
    this.written += bytes.length;
    return this;
  }

  /** A length-prefixed byte string. */
  bytes(bytes: Uint8Array): this {
    return this.uint(bytes.length).raw(bytes);
  }

  string(text: string): this {
    return this.bytes(encoder.encode(text));
  }

  /** The bytes written so far (a copy trimmed to size). */
  /** Bytes written so far. */
  get length(): number {
    return this.written;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.written);
  }
}

export class ByteReader {
  private offset = 0;

  constructor(private readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  byte(): number {
    if (this.offset >= this.data.length) throw new DecodeError(`unexpected end of input at byte ${this.offset}`);
    return this.data[this.offset++] as number;
  }

  bool(): boolean {
    const b = this.byte();
    if (b > 1) throw new DecodeError(`bad boolean ${b} at byte ${this.offset - 1}`);
    return b === 1;
  }

  uint(): number {
    const start = this.offset;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new DecodeError(`varint at byte ${start} is larger than 2^53 - 1`);
        if (i > 0 && b === 0) throw new DecodeError(`varint at byte ${start} is not minimally encoded`);
        return result;
      }
      scale *= 0x80;
    }
    throw new DecodeError(`varint at byte ${start} is longer than 8 bytes`);
  }

  /** `length` raw bytes (a copy, so the result outlives and cannot alias the input). */
  raw(length: number): Uint8Array {
    if (length > this.remaining) {
      throw new DecodeError(`${length} bytes wanted at byte ${this.offset}, only ${this.remaining} left`);
    }
    // A plain Uint8Array copy, even when the input is a Buffer (whose slice() is a view).
    const out = new Uint8Array(this.data.subarray(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }

  bytes(): Uint8Array {
    return this.raw(this.uint());
  }

  /** `length` bytes as a view into the input (no copy): valid while the input is. */
  view(length: number): Uint8Array {
    if (length > this.remaining) {
      throw new DecodeError(`${length} bytes wanted at byte ${this.offset}, only ${this.remaining} left`);
    }
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(): string {
    const bytes = this.bytes();
    try {
      return decoder.decode(bytes);
    } catch {
      throw new DecodeError(`invalid UTF-8 string before byte ${this.offset}`);
    }
  }

  /** Every byte consumed, else the input has trailing garbage. */
  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} unexpected trailing bytes at byte ${this.offset}`);
  }
}
