/**
 * Folds WAL records, oldest first, into the state they describe. Pure: no files,
 * so the rules can be tested on their own (wal.ts adds file names and offsets to
 * any problem found here).
 *
 * Rules (later records win):
 *   - an entry at index i discards every entry >= i read before it;
 *   - the newest hard state wins;
 *   - a snapshot marker at s makes entries <= s part of the snapshot; an entry at
 *     or below the newest marker that arrives later is dropped;
 *   - a restore at s voids every entry before it; the next entry must be s + 1.
 *
 * Entries at or below the snapshot are kept aside as `compacted` while the
 * segments still hold them: if the newest snapshot file turns out damaged, an
 * older snapshot plus these entries can stand in for it (raft-storage.ts).
 */
import type { Entry, HardState, LogIndex, Term } from '../raft/index.js';
import type { WalRecord } from './wal-records.js';

export interface ReplayResult {
  readonly hardState: HardState;
  readonly snapshotIndex: LogIndex;
  readonly snapshotTerm: Term;
  /** The log after the snapshot, contiguous from snapshotIndex + 1. */
  readonly entries: Entry[];
  /** Entries at or below snapshotIndex still in the segments, contiguous, ending at snapshotIndex (or empty). */
  readonly compacted: Entry[];
}

export class LogReplay {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snapshotIndex: LogIndex = 0;
  private snapshotTerm: Term = 0;
  /** Contiguous entries; may start anywhere, since old segments get deleted. */
  private run: Entry[] = [];
  /** After a restore, the log is known to continue exactly at snapshotIndex + 1. */
  private anchored = false;

  /** Applies one record; returns a description of the contradiction if it is one. */
  apply(record: WalRecord): string | undefined {
    switch (record.type) {
      case 'segment':
      case 'commit':
        return undefined;
      case 'hardState':
        this.hardState = record.hardState;
        return undefined;
      case 'entry':
        return this.applyEntry(record.entry);
      case 'snapshot':
        return this.applySnapshot(record.index, record.term);
      case 'restore':
        if (record.index < this.snapshotIndex) return `restore to snapshot ${record.index} after a snapshot at ${this.snapshotIndex}`;
        this.run = [];
        this.snapshotIndex = record.index;
        this.snapshotTerm = record.term;
        this.anchored = true;
        return undefined;
    }
  }

  /** Whether an entry at `index` would be kept (it is above the snapshot). */
  keeps(index: LogIndex): boolean {
    return index > this.snapshotIndex;
  }

  result(): ReplayResult | string {
    const cut = this.run.findIndex((e) => e.index > this.snapshotIndex);
    const entries = cut < 0 ? [] : this.run.slice(cut);
    const compacted = cut < 0 ? this.run : this.run.slice(0, cut);
    const first = entries[0];
    if (first && first.index !== this.snapshotIndex + 1) {
      return `entries ${this.snapshotIndex + 1}..${first.index - 1} are missing: the snapshot is at ${this.snapshotIndex} but the log resumes at ${first.index}`;
    }
    const lastCompacted = compacted[compacted.length - 1];
    return {
      hardState: this.hardState,
      snapshotIndex: this.snapshotIndex,
      snapshotTerm: this.snapshotTerm,
      entries,
      compacted: lastCompacted && lastCompacted.index === this.snapshotIndex ? compacted : [],
    };
  }

  private applyEntry(entry: Entry): string | undefined {
    if (entry.index <= this.snapshotIndex) return undefined;
    const first = this.run[0];
    if (!first) {
      if (this.anchored && entry.index !== this.snapshotIndex + 1) {
        return `entry ${entry.index} follows a restore to snapshot ${this.snapshotIndex}; expected ${this.snapshotIndex + 1}`;
      }
      if (entry.index === this.snapshotIndex + 1 && entry.term < this.snapshotTerm) {
        return `entry ${entry.index} has term ${entry.term}, lower than the snapshot's term ${this.snapshotTerm}`;
      }
      this.run.push(entry);
      return undefined;
    }
    const last = this.run[this.run.length - 1] as Entry;
    if (entry.index > last.index + 1) return `entry ${entry.index} follows entry ${last.index}: entries in between are missing`;
    if (entry.index <= first.index) this.run = [];
    else this.run.length = entry.index - first.index;
    const previous = this.run[this.run.length - 1];
    const previousTerm = previous ? previous.term : entry.index === this.snapshotIndex + 1 ? this.snapshotTerm : 0;
    if (entry.term < previousTerm) return `entry ${entry.index} has term ${entry.term}, lower than the term ${previousTerm} before it`;
    this.run.push(entry);
    return undefined;
  }

  private applySnapshot(index: LogIndex, term: Term): string | undefined {
    if (index < this.snapshotIndex) return `snapshot marker at ${index} after one at ${this.snapshotIndex}`;
    if (index === this.snapshotIndex && index > 0 && term !== this.snapshotTerm) {
      return `snapshot marker at ${index} has term ${term}, but the snapshot there has term ${this.snapshotTerm}`;
    }
    const first = this.run[0];
    const last = this.run[this.run.length - 1];
    if (first && last) {
      if (index > last.index) return `snapshot marker at ${index} is past the last entry ${last.index}`;
      if (index >= first.index && (this.run[index - first.index] as Entry).term !== term) {
        return `snapshot marker at ${index} has term ${term}, but the entry there has term ${(this.run[index - first.index] as Entry).term}`;
      }
    }
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    return undefined;
  }
}
