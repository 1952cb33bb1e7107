/**
 * Lowe's memo (Lowe 2017, §4): the configurations, (set of linearized operations,
 * model state), that the search has already reached. Reaching one again means the same
 * operations remain to be placed from the same state, which was already shown to lead
 * nowhere (else the search would have ended), so that branch is cut. This turns Wing &
 * Gong's exponential search into one bounded by the number of distinct configurations.
 *
 * Operations with an unknown outcome need one more rule, or each of them doubles the
 * configurations (placed yet, or not). A configuration with more of them placed can do
 * nothing that one with the same known operations placed, the same state, and fewer
 * unknown ones placed cannot: the unknown ones left over may simply never be placed,
 * and they constrain no other operation since they never return. So once the search
 * has finished exploring (and failed from) a configuration, it also cuts every one
 * that places the same known operations, reaches the same state, and places a superset
 * of its unknown operations. Only finished configurations cut: one still on the
 * search's path has not failed yet.
 *
 * Configurations that share known operations and state form a family. Everything is
 * kept in flat typed arrays rather than objects: the memo holds millions of entries on
 * long histories, and objects would make the garbage collector the bottleneck.
 */
import type { LinearizedSet } from './linearized-set.js';

const none = -1;

/** A family: its state, where its known snapshot sits in the pool, the next family in
 * its hash bucket, and its latest member. */
const familyFields = 4;
/** A member (a configuration): where its unknown snapshot sits in the pool, the
 * family's previous member, and whether it is finished (1) or not (0). */
const memberFields = 3;

export class ExploredConfigurations {
  private readonly bucketFirstFamily = new Map<number, number>();
  private families = new Int32Array(familyFields * 1024);
  private familyCount = 0;
  private members = new Int32Array(memberFields * 1024);
  private memberCount = 0;
  /** The snapshots of sets of linearized operations, end to end. */
  private pool = new Uint32Array(1 << 16);
  private poolUsed = 0;

  /** Records (linearized, state) and returns its id, unless a configuration recorded
   * before makes it pointless; then returns -1. */
  add(linearized: LinearizedSet, state: number): number {
    const family = this.familyOf(linearized, state);
    for (let member = this.families[family * familyFields + 3] as number; member !== none; member = this.members[member * memberFields + 1] as number) {
      const finished = this.members[member * memberFields + 2] === 1;
      if (finished && linearized.unknown.includes(this.pool, this.members[member * memberFields] as number)) return none;
    }
    return this.addMember(
      family,
      this.store(linearized.unknown.snapshotLength(), (at) => linearized.unknown.writeSnapshot(this.pool, at)),
    );
  }

  /** The search has explored all that configuration `member` leads to, and failed. */
  finish(member: number): void {
    this.members[member * memberFields + 2] = 1;
  }

  private familyOf(linearized: LinearizedSet, state: number): number {
    const bucket = bucketOf(linearized.known.hash, state);
    const first = this.bucketFirstFamily.get(bucket) ?? none;
    for (let family = first; family !== none; family = this.families[family * familyFields + 2] as number) {
      const base = family * familyFields;
      if (this.families[base] === state && linearized.known.equals(this.pool, this.families[base + 1] as number)) return family;
    }
    const knownAt = this.store(linearized.known.snapshotLength(), (at) => linearized.known.writeSnapshot(this.pool, at));
    if ((this.familyCount + 1) * familyFields > this.families.length) this.families = grown(this.families);
    const family = this.familyCount;
    this.families.set([state, knownAt, first, none], family * familyFields);
    this.familyCount += 1;
    this.bucketFirstFamily.set(bucket, family);
    return family;
  }

  private addMember(family: number, unknownAt: number): number {
    if ((this.memberCount + 1) * memberFields > this.members.length) this.members = grown(this.members);
    const member = this.memberCount;
    this.members.set([unknownAt, this.families[family * familyFields + 3] as number, 0], member * memberFields);
    this.families[family * familyFields + 3] = member;
    this.memberCount += 1;
    return member;
  }

  /** Reserves `length` words of the pool, lets `write` fill them, returns where. */
  private store(length: number, write: (at: number) => void): number {
    while (this.poolUsed + length > this.pool.length) this.pool = grown(this.pool);
    const at = this.poolUsed;
    write(at);
    this.poolUsed += length;
    return at;
  }
}

function grown<T extends Int32Array | Uint32Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** Mixes the state into the set's hash; kept to 30 bits so Map keys stay small integers. */
function bucketOf(setHash: number, state: number): number {
  return (setHash ^ Math.imul(state + 1, 0x9e3779b1)) & 0x3fffffff;
}
