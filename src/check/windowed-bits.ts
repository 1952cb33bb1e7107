/**
 * A bitset that keeps its "window" up to date: `low` is its first word that is not all
 * ones and `high` its last word that is not all zeros. The search's sets of linearized
 * operations are all the early operations plus a few around its frontier, so a copy of
 * the window (a snapshot) is all it takes to remember one: copying the whole bitset for
 * every configuration would make memory and time grow with the square of the history.
 *
 * It also keeps a hash of its members up to date on every add and remove (Zobrist
 * hashing: the XOR of one random word per member), so a lookup costs no pass over it.
 */
import { assert, Prng } from '../lib/index.js';

/** A snapshot starts with the window's bounds: low and high + 1. */
const headerWords = 2;

export class WindowedBits {
  private readonly words: Uint32Array;
  /** The value of each word once all of its bits are set (the last word may be short). */
  private readonly fullWords: Uint32Array;
  private readonly zobrist: Int32Array;
  private low: number;
  private high = -1;
  private hashValue = 0;

  constructor(size: number, zobristSeed: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
    this.fullWords = this.words.map((_, index) => fullWord(Math.min(32, size - index * 32)));
    const prng = new Prng(zobristSeed);
    this.zobrist = Int32Array.from({ length: size }, () => prng.nextUint32() | 0);
    this.low = this.nextNotFull(0);
  }

  get hash(): number {
    return this.hashValue;
  }

  has(bit: number): boolean {
    return ((this.words[bit >> 5] as number) & (1 << (bit & 31))) !== 0;
  }

  add(bit: number): void {
    assert(!this.has(bit), () => `bit ${bit} is set already`);
    const word = bit >> 5;
    this.words[word] = (this.words[word] as number) | (1 << (bit & 31));
    this.hashValue ^= this.zobrist[bit] as number;
    if (word === this.low) this.low = this.nextNotFull(word);
    if (word > this.high) this.high = word;
  }

  remove(bit: number): void {
    assert(this.has(bit), () => `bit ${bit} is not set`);
    const word = bit >> 5;
    this.words[word] = (this.words[word] as number) & ~(1 << (bit & 31));
    this.hashValue ^= this.zobrist[bit] as number;
    if (word < this.low) this.low = word;
    if (word === this.high) this.high = this.previousNotEmpty(word);
  }

  /** The words a snapshot takes: the window and two words for its bounds. */
  snapshotLength(): number {
    return headerWords + Math.max(0, this.high - this.low + 1);
  }

  /** Writes a snapshot into `pool` at `at`: [low, high + 1, ...words low to high]. */
  writeSnapshot(pool: Uint32Array, at: number): void {
    pool[at] = this.low;
    pool[at + 1] = this.high + 1;
    pool.set(this.words.subarray(this.low, this.high + 1), at + headerWords);
  }

  /** Whether the snapshot at `at` was taken of a set equal to this one. */
  equals(pool: Uint32Array, at: number): boolean {
    if (pool[at] !== this.low || pool[at + 1] !== this.high + 1) return false;
    const words = at + headerWords - this.low;
    for (let word = this.low; word <= this.high; word += 1) {
      if (pool[words + word] !== this.words[word]) return false;
    }
    return true;
  }

  /** Whether every member of the set of the snapshot at `at` is in this one. */
  includes(pool: Uint32Array, at: number): boolean {
    const low = pool[at] as number;
    // The snapshot's words before its window are all ones, so these must be too.
    if (this.low < low) return false;
    const end = pool[at + 1] as number;
    const words = at + headerWords - low;
    for (let word = low; word < end; word += 1) {
      if (((pool[words + word] as number) & ~(this.words[word] as number)) !== 0) return false;
    }
    return true;
  }

  private nextNotFull(from: number): number {
    let word = from;
    while (word < this.words.length && this.words[word] === this.fullWords[word]) word += 1;
    return word;
  }

  private previousNotEmpty(from: number): number {
    let word = from;
    while (word >= 0 && this.words[word] === 0) word -= 1;
    return word;
  }
}

function fullWord(bits: number): number {
  return bits >= 32 ? 0xffffffff : 2 ** bits - 1;
}
