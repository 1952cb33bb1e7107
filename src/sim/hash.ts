/**
 * A small incremental 32-bit hash (FNV-style over 32-bit words, finished with a
 * murmur-style mix). The simulator folds every event of a run into one of these, so
 * two runs of the same seed can be compared cheaply even with tracing off, and it
 * fingerprints log entries and state machine contents for the safety checks.
 * Not cryptographic: it only has to make accidental collisions unlikely.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class Hasher {
  private state = FNV_OFFSET;

  /** Folds in a number: integers exactly, other numbers through their string form. */
  number(value: number): this {
    if (Number.isInteger(value) && Math.abs(value) < 0x1_0000_0000) {
      this.word(value >>> 0);
      this.word(value < 0 ? 1 : 0);
    } else {
      this.string(String(value));
    }
    return this;
  }

  string(value: string): this {
    this.word(value.length);
    for (let i = 0; i < value.length; i++) this.word(value.charCodeAt(i));
    return this;
  }

  bytes(value: Uint8Array): this {
    this.word(value.length);
    for (let i = 0; i < value.length; i++) this.word(value[i] as number);
    return this;
  }

  digest(): number {
    let h = this.state;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** Folds in 32 bits at once (FNV-style xor-multiply, with a shift so high bits
   * reach the low ones). */
  private word(value: number): void {
    const h = Math.imul(this.state ^ value, FNV_PRIME);
    this.state = (h ^ (h >>> 15)) >>> 0;
  }
}

/** The hash of a byte string. */
export function hashBytes(value: Uint8Array): number {
  return new Hasher().bytes(value).digest();
}

/** A hash as 8 hex digits, for traces and summaries. */
export function hex(hash: number): string {
  return (hash >>> 0).toString(16).padStart(8, '0');
}
