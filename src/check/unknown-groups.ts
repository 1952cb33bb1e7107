/**
 * The operations of unknown outcome of one key, grouped by what they would do: write
 * the same value, or swap the same pair of values. Within a group they are
 * interchangeable once invoked, since they never return: a linearization that places a
 * later one of them could place the earliest instead, and the later one where the
 * earliest went. So the search only ever places the earliest of a group not yet placed,
 * which removes the factorial of orders among equal writes (symmetry reduction).
 *
 * Groups with operations left to place are kept in a doubly linked list, in order of
 * their first invoke, so that a pass over the candidates skips finished groups; placing
 * and undoing are LIFO, so unlinking and relinking are O(1) as in entry-list.ts.
 */
import { assert } from '../lib/index.js';
import { valueWritten, type Call } from './models.js';

export const NO_GROUP = -1;

export class UnknownGroups {
  private readonly members: number[][] = [];
  private readonly placedCount: number[] = [];
  private readonly groupOf = new Map<number, number>();
  private readonly head: number;
  private readonly next: Int32Array;
  private readonly previous: Int32Array;

  /** `operations` are the unknown ones, in invoke order, with their calls. */
  constructor(operations: readonly number[], callOf: (operation: number) => Call) {
    const groupBySignature = new Map<string, number>();
    for (const operation of operations) {
      const signature = signatureOf(callOf(operation));
      let group = groupBySignature.get(signature);
      if (group === undefined) {
        group = this.members.length;
        groupBySignature.set(signature, group);
        this.members.push([]);
        this.placedCount.push(0);
      }
      this.members[group]?.push(operation);
      this.groupOf.set(operation, group);
    }
    this.head = this.members.length;
    this.next = Int32Array.from({ length: this.head + 1 }, (_, group) => (group + 1 < this.head ? group + 1 : NO_GROUP));
    this.previous = Int32Array.from({ length: this.head + 1 }, (_, group) => (group === 0 ? this.head : group - 1));
    this.next[this.head] = this.head > 0 ? 0 : NO_GROUP;
  }

  /** The first group with operations left to place, or NO_GROUP. */
  first(): number {
    return this.next[this.head] as number;
  }

  after(group: number): number {
    return this.next[group] as number;
  }

  /** The operation of `group` to place next: its earliest not yet placed. */
  nextOf(group: number): number {
    return this.members[group]?.[this.placedCount[group] as number] as number;
  }

  groupOfOperation(operation: number): number {
    return this.groupOf.get(operation) as number;
  }

  placed(operation: number): void {
    const group = this.groupOfOperation(operation);
    assert(this.nextOf(group) === operation, () => `unknown operation ${operation} placed out of its group's order`);
    this.placedCount[group] = (this.placedCount[group] as number) + 1;
    if (this.placedCount[group] === this.members[group]?.length) this.unlink(group);
  }

  /** Undoes placed(operation); placements must be undone last-first. */
  unplaced(operation: number): void {
    const group = this.groupOfOperation(operation);
    if (this.placedCount[group] === this.members[group]?.length) this.relink(group);
    this.placedCount[group] = (this.placedCount[group] as number) - 1;
    assert(this.nextOf(group) === operation, () => `unknown operation ${operation} unplaced out of its group's order`);
  }

  private unlink(group: number): void {
    const before = this.previous[group] as number;
    const after = this.next[group] as number;
    this.next[before] = after;
    if (after !== NO_GROUP) this.previous[after] = before;
  }

  private relink(group: number): void {
    const before = this.previous[group] as number;
    const after = this.next[group] as number;
    this.next[before] = group;
    if (after !== NO_GROUP) this.previous[after] = group;
  }
}

/** Calls with the same signature do the same thing to the key. */
function signatureOf(call: Call): string {
  return call.f === 'cas' ? `cas ${call.argument} ${call.replacement}` : `set ${valueWritten(call)}`;
}
