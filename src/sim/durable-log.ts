import type { Entry, LogIndex, Term } from '../raft/index.js';

/**
 * What one node holds durably, as far as the rule monitor needs it: the term of each
 * log entry that reached its disk (after the snapshot the disk holds), fed only by
 * "this node durably persisted X". Entries compacted into a snapshot are committed,
 * so they count as held.
 */
export class DurableLog {
  private snapshotIndex: LogIndex = 0;
  /** terms[i] is the term of entry snapshotIndex + 1 + i. */
  private terms: Term[] = [];

  /** Entries reached the disk, overwriting the log from the first one on. */
  wrote(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.terms.length = Math.max(0, Math.min(this.terms.length, first.index - this.snapshotIndex - 1));
    for (const entry of entries) if (entry.index > this.snapshotIndex) this.terms.push(entry.term);
  }

  /** A leader's snapshot replaced the whole log (Figure 13, step 7). */
  installed(index: LogIndex): void {
    this.snapshotIndex = index;
    this.terms = [];
  }

  /** The node compacted its own log up to `index`. */
  compacted(index: LogIndex): void {
    if (index <= this.snapshotIndex) return;
    this.terms.splice(0, Math.min(this.terms.length, index - this.snapshotIndex));
    this.snapshotIndex = index;
  }

  holds(index: LogIndex, term: Term): boolean {
    if (index <= this.snapshotIndex) return true;
    return this.terms[index - this.snapshotIndex - 1] === term;
  }

  lastIndex(): LogIndex {
    return this.snapshotIndex + this.terms.length;
  }
}
