/**
 * The terms of a contiguous range of log entries, kept as runs: one (first index,
 * term) pair per change of term. The log keeps the terms of entries whose data it no
 * longer holds in memory (log.ts): matching an append (§5.3), voting (§5.4.1) and
 * fast backtracking need every entry's term, but a term changes only at elections,
 * so a million entries cost a handful of pairs.
 */
import { assert } from '../lib/index.js';

// types.ts's LogIndex and Term, named here rather than imported: types.ts names this
// class in PersistedState, and the two would import each other.
type LogIndex = number;
type Term = number;

export class TermRuns {
  /** starts[i] is the first index of the i-th run, whose entries all have terms[i]. */
  private starts: LogIndex[] = [];
  private terms: Term[] = [];
  /** The range held: [first, last]; empty when last < first. */
  private firstIndex: LogIndex;
  private lastIndex: LogIndex;

  /** An empty range that starts at `first`. */
  constructor(first: LogIndex) {
    this.firstIndex = first;
    this.lastIndex = first - 1;
  }

  first(): LogIndex {
    return this.firstIndex;
  }

  last(): LogIndex {
    return this.lastIndex;
  }

  isEmpty(): boolean {
    return this.lastIndex < this.firstIndex;
  }

  /** Adds the entry right after the last one. */
  push(index: LogIndex, term: Term): void {
    assert(index === this.lastIndex + 1, () => `term runs end at ${this.lastIndex}; cannot add entry ${index}`);
    const lastTerm = this.terms[this.terms.length - 1];
    assert(lastTerm === undefined || term >= lastTerm, () => `entry ${index} has term ${term}, lower than ${lastTerm} before it`);
    if (lastTerm !== term) {
      this.starts.push(index);
      this.terms.push(term);
    }
    this.lastIndex = index;
  }

  /** The term of the entry at `index`, or undefined outside the range. */
  term(index: LogIndex): Term | undefined {
    if (index < this.firstIndex || index > this.lastIndex) return undefined;
    // The last run that starts at or before `index`.
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as LogIndex) <= index) low = middle;
      else high = middle - 1;
    }
    return this.terms[low];
  }

  /** A copy of the entries from `index` on. */
  from(index: LogIndex): TermRuns {
    const copy = new TermRuns(this.firstIndex);
    copy.starts = [...this.starts];
    copy.terms = [...this.terms];
    copy.lastIndex = this.lastIndex;
    copy.dropThrough(index - 1);
    return copy;
  }

  /** Forgets the entries up to `index`: the range starts after it. */
  dropThrough(index: LogIndex): void {
    if (index < this.firstIndex) return;
    if (index >= this.lastIndex) {
      this.starts = [];
      this.terms = [];
      this.firstIndex = index + 1;
      this.lastIndex = index;
      return;
    }
    const term = this.term(index + 1) as Term;
    let keepFrom = 0;
    while (keepFrom + 1 < this.starts.length && (this.starts[keepFrom + 1] as LogIndex) <= index + 1) keepFrom++;
    this.starts = this.starts.slice(keepFrom);
    this.terms = this.terms.slice(keepFrom);
    this.starts[0] = index + 1;
    this.terms[0] = term;
    this.firstIndex = index + 1;
  }
}
