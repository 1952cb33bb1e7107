/**
 * The set of operations linearized so far, in two parts. Operations are numbered with
 * those of known outcome first, then those of unknown outcome, each part in invoke
 * order. Known operations must be linearized before the search gets past their return,
 * so their part stays dense (see WindowedBits); unknown ones never return and may stay
 * out for good, so they get a window of their own. The memo also treats the parts
 * differently (see explored.ts).
 */
import { WindowedBits } from './windowed-bits.js';

/** Any fixed seeds will do: the hashes only need to spread sets over buckets. */
const knownSeed = 0x6b65656c;
const unknownSeed = 0x636b6563;

export class LinearizedSet {
  readonly known: WindowedBits;
  readonly unknown: WindowedBits;

  constructor(
    private readonly knownCount: number,
    unknownCount: number,
  ) {
    this.known = new WindowedBits(knownCount, knownSeed);
    this.unknown = new WindowedBits(unknownCount, unknownSeed);
  }

  add(member: number): void {
    if (member < this.knownCount) this.known.add(member);
    else this.unknown.add(member - this.knownCount);
  }

  remove(member: number): void {
    if (member < this.knownCount) this.known.remove(member);
    else this.unknown.remove(member - this.knownCount);
  }
}
