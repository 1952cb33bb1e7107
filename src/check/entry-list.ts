/**
 * One key's history as the doubly linked list of call and return entries, in time
 * order, that Wing & Gong's search walks (Wing & Gong 1993; Lowe 2017, §3).
 * Linearizing operation i lifts its call and return entries out of the list;
 * backtracking puts them back in the reverse order, as in dancing links, so both are
 * O(1) and the list is always the history still to be linearized.
 *
 * Entry 2i is the call of operation i and entry 2i+1 its return; the head sentinel
 * sits after them. Arrays of indices rather than objects keep the hot loop cheap.
 */
export const END = -1;

export class EntryList {
  private readonly head: number;
  private readonly next: Int32Array;
  private readonly previous: Int32Array;

  constructor(invokeTimes: ArrayLike<number>, responseTimes: ArrayLike<number>) {
    const entryCount = invokeTimes.length * 2;
    this.head = entryCount;
    this.next = new Int32Array(entryCount + 1).fill(END);
    this.previous = new Int32Array(entryCount + 1).fill(END);
    const order = timeOrder(invokeTimes, responseTimes);
    let last = this.head;
    for (const entry of order) {
      this.next[last] = entry;
      this.previous[entry] = last;
      last = entry;
    }
  }

  first(): number {
    return this.next[this.head] as number;
  }

  after(entry: number): number {
    return this.next[entry] as number;
  }

  /** Removes operation i's call and return entries. */
  lift(operation: number): void {
    this.unlink(callOf(operation));
    this.unlink(callOf(operation) + 1);
  }

  /** Undoes lift(operation); lifts must be undone last-first. */
  unlift(operation: number): void {
    this.relink(callOf(operation) + 1);
    this.relink(callOf(operation));
  }

  private unlink(entry: number): void {
    const before = this.previous[entry] as number;
    const after = this.next[entry] as number;
    this.next[before] = after;
    if (after !== END) this.previous[after] = before;
  }

  private relink(entry: number): void {
    const before = this.previous[entry] as number;
    const after = this.next[entry] as number;
    this.next[before] = entry;
    if (after !== END) this.previous[after] = entry;
  }
}

export function callOf(operation: number): number {
  return operation * 2;
}

export function isCall(entry: number): boolean {
  return (entry & 1) === 0;
}

export function operationOf(entry: number): number {
  return entry >> 1;
}

/**
 * Entries sorted by time. At equal times calls come before returns, so operations whose
 * times touch count as concurrent: the checker never assumes an order it was not shown.
 */
function timeOrder(invokeTimes: ArrayLike<number>, responseTimes: ArrayLike<number>): number[] {
  const timeOf = (entry: number): number => (isCall(entry) ? invokeTimes[operationOf(entry)] : responseTimes[operationOf(entry)]) as number;
  const entries = Array.from({ length: invokeTimes.length * 2 }, (_, entry) => entry);
  return entries.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
}
