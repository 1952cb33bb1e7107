/**
 * The set of operations linearized so far: a bitset, with a hash kept up to date on
 * every add and remove (Zobrist hashing: the XOR of one random word per member), so
 * that Lowe's memo can look a configuration up without a pass over the bits.
 *
 * The memo keeps a snapshot of the set for every configuration it records, and copying
 * the whole bitset each time makes memory and time grow with the square of the history.
 * A snapshot keeps only a window instead. Operations are numbered in invoke order, and
 * an operation that has returned must be linearized before the search gets past its
 * return, so the linearized operations are all the early ones plus a few around the
 * search's frontier: the words before the window are all ones and those after all zeros.
 * Operations with an unknown outcome never return and may stay out for good, so they
 * get a region of their own, with its own window.
 */
import { assert } from '../lib/assert.js';
import { Prng } from '../lib/prng.js';

/** Any fixed seed will do: the hash only needs to spread sets over buckets. */
const zobristSeed = 0x6b65656c;

export class LinearizedSet {
  private readonly regions: WindowedBits[] = [];
  /** regionOf[member] and offsetOf[member]: where a member's bit lives. */
  private readonly regionOf: Uint8Array;
  private readonly offsetOf: Int32Array;
  private readonly zobrist: Int32Array;
  private hashValue = 0;

  /** Members are numbered from 0 across the regions, region after region. */
  constructor(regionSizes: readonly number[]) {
    const capacity = regionSizes.reduce((sum, size) => sum + size, 0);
    this.regionOf = new Uint8Array(capacity);
    this.offsetOf = new Int32Array(capacity);
    let member = 0;
    regionSizes.forEach((size, region) => {
      this.regions.push(new WindowedBits(size));
      for (let offset = 0; offset < size; offset += 1, member += 1) {
        this.regionOf[member] = region;
        this.offsetOf[member] = offset;
      }
    });
    const prng = new Prng(zobristSeed);
    this.zobrist = Int32Array.from({ length: capacity }, () => prng.nextUint32() | 0);
  }

  get hash(): number {
    return this.hashValue;
  }

  has(member: number): boolean {
    return this.regionFor(member).has(this.offsetOf[member] as number);
  }

  add(member: number): void {
    assert(!this.has(member), () => `operation ${member} is linearized twice`);
    this.regionFor(member).add(this.offsetOf[member] as number);
    this.hashValue ^= this.zobrist[member] as number;
  }

  remove(member: number): void {
    assert(this.has(member), () => `operation ${member} is not linearized`);
    this.regionFor(member).remove(this.offsetOf[member] as number);
    this.hashValue ^= this.zobrist[member] as number;
  }

  /** A compact copy that `matches` recognises: each region's window bounds, then the
   * words inside each window. */
  snapshot(): Uint32Array {
    const windowWords = this.regions.reduce((sum, region) => sum + region.windowLength(), 0);
    const snapshot = new Uint32Array(this.regions.length * 2 + windowWords);
    let at = this.regions.length * 2;
    this.regions.forEach((region, index) => {
      snapshot[index * 2] = region.low;
      snapshot[index * 2 + 1] = region.high + 1;
      at = region.copyWindowInto(snapshot, at);
    });
    return snapshot;
  }

  /** Whether `snapshot` was taken of a set equal to this one. */
  matches(snapshot: Uint32Array): boolean {
    let at = this.regions.length * 2;
    for (let index = 0; index < this.regions.length; index += 1) {
      const region = this.regions[index] as WindowedBits;
      if (snapshot[index * 2] !== region.low || snapshot[index * 2 + 1] !== region.high + 1) return false;
      if (!region.windowEquals(snapshot, at)) return false;
      at += region.windowLength();
    }
    return true;
  }

  private regionFor(member: number): WindowedBits {
    return this.regions[this.regionOf[member] as number] as WindowedBits;
  }
}

/**
 * A bitset that knows its window: `low` is its first word that is not all ones and
 * `high` its last word that is not all zeros, both kept up to date as bits change (a
 * step moves them by little, so the upkeep is cheap).
 */
class WindowedBits {
  private readonly words: Uint32Array;
  /** The value of each word once all of its bits are set (the last word may be short). */
  private readonly fullWords: Uint32Array;
  low = 0;
  high = -1;

  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
    this.fullWords = this.words.map((_, index) => fullWord(Math.min(32, size - index * 32)));
    this.low = this.nextNotFull(0);
  }

  has(bit: number): boolean {
    return ((this.words[bit >> 5] as number) & (1 << (bit & 31))) !== 0;
  }

  add(bit: number): void {
    const word = bit >> 5;
    this.words[word] = (this.words[word] as number) | (1 << (bit & 31));
    if (word === this.low) this.low = this.nextNotFull(word);
    if (word > this.high) this.high = word;
  }

  remove(bit: number): void {
    const word = bit >> 5;
    this.words[word] = (this.words[word] as number) & ~(1 << (bit & 31));
    if (word < this.low) this.low = word;
    if (word === this.high) this.high = this.previousNotEmpty(word);
  }

  windowLength(): number {
    return Math.max(0, this.high - this.low + 1);
  }

  /** Returns the position after the copied words. */
  copyWindowInto(target: Uint32Array, at: number): number {
    const window = this.words.subarray(this.low, this.low + this.windowLength());
    target.set(window, at);
    return at + window.length;
  }

  windowEquals(snapshot: Uint32Array, at: number): boolean {
    for (let word = this.low; word <= this.high; word += 1) {
      if (snapshot[at + word - this.low] !== this.words[word]) return false;
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
