import type { Entry, HardState, LogIndex, PersistedState, Snapshot, Term } from '../raft/types.js';

/** One Ready's worth of writes, in the order a write-ahead log would lay them down. */
export interface DiskWrite {
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | undefined;
}

/**
 * What one simulated node has durably on disk: hard state, the latest snapshot and the
 * log after it. It is written only through `write` (a Ready that was fsynced) and
 * `saveSnapshot` (the runtime's own compaction), so a crash keeps exactly this.
 *
 * Each write is checked against the rules a correct core never breaks; a broken rule
 * comes back as a problem string (the caller turns it into a violation), never as an
 * exception, so the run can report it with its trace.
 */
export class SimDisk {
  private hardStateValue: HardState = { term: 0, vote: 0, commit: 0 };
  private snapshotValue: Snapshot | undefined = undefined;
  /** The log after the snapshot, contiguous from firstIndex(). */
  private log: Entry[] = [];
  /** Write operations that completed (for traces and tests). */
  writesCount = 0;

  get hardState(): HardState {
    return this.hardStateValue;
  }

  get snapshot(): Snapshot | undefined {
    return this.snapshotValue;
  }

  snapshotIndex(): LogIndex {
    return this.snapshotValue?.meta.index ?? 0;
  }

  firstIndex(): LogIndex {
    return this.snapshotIndex() + 1;
  }

  lastIndex(): LogIndex {
    return this.snapshotIndex() + this.log.length;
  }

  /** The term of the entry at `index`, the snapshot's term at its index, 0 at index 0,
   * undefined when the disk does not hold it. */
  term(index: LogIndex): Term | undefined {
    if (index === 0) return 0;
    const snapshotIndex = this.snapshotIndex();
    if (index === snapshotIndex) return this.snapshotValue?.meta.term;
    if (index < snapshotIndex || index > this.lastIndex()) return undefined;
    return (this.log[index - snapshotIndex - 1] as Entry).term;
  }

  entry(index: LogIndex): Entry | undefined {
    const snapshotIndex = this.snapshotIndex();
    if (index <= snapshotIndex || index > this.lastIndex()) return undefined;
    return this.log[index - snapshotIndex - 1];
  }

  /** Persists one Ready: snapshot, then entries (overwriting the log from the first
   * one's index on), then hard state. Returns the broken rules, if any. */
  write(write: DiskWrite): string[] {
    const problems: string[] = [];
    if (write.snapshot !== undefined) problems.push(...this.installSnapshot(write.snapshot));
    if (write.entries.length > 0) problems.push(...this.appendEntries(write.entries));
    if (write.hardState !== undefined) problems.push(...this.writeHardState(write.hardState));
    this.writesCount += 1;
    return problems;
  }

  /**
   * A crash in the middle of a write (torn write): the log records reached the platter
   * in order and the first `entriesCount` entries made it, nothing after them (no hard
   * state). The snapshot file is written and renamed atomically before the log, so it is
   * either all there or not: here it is kept only when `withSnapshot`.
   */
  writePrefix(write: DiskWrite, options: { readonly withSnapshot: boolean; readonly entriesCount: number }): string[] {
    const problems: string[] = [];
    if (write.snapshot !== undefined) {
      if (!options.withSnapshot) return problems;
      problems.push(...this.installSnapshot(write.snapshot));
    }
    if (options.entriesCount > 0) problems.push(...this.appendEntries(write.entries.slice(0, options.entriesCount)));
    return problems;
  }

  /** The runtime took a state machine snapshot; like a snapshot file written, fsynced and
   * renamed, it is durable at once, and the log up to its index is dropped. */
  saveSnapshot(snapshot: Snapshot): string[] {
    const problems: string[] = [];
    const index = snapshot.meta.index;
    if (index <= this.snapshotIndex()) return problems; // nothing new
    const term = this.term(index);
    if (term !== snapshot.meta.term) {
      problems.push(`snapshot at ${index}/t${snapshot.meta.term} does not match the disk's log (term there: ${term ?? 'none'})`);
    }
    if (index > this.hardStateValue.commit) {
      problems.push(`snapshot at ${index} is beyond the persisted commit index ${this.hardStateValue.commit}`);
    }
    this.log = this.log.slice(Math.min(this.log.length, index - this.snapshotIndex()));
    this.snapshotValue = snapshot;
    return problems;
  }

  /** What the node finds when it starts: copies, so later writes cannot reach a core
   * that already read them. */
  load(): PersistedState {
    return {
      hardState: { ...this.hardStateValue },
      snapshot: this.snapshotValue,
      entries: [...this.log],
    };
  }

  /** Replaces an entry's data (tests only: a tampered disk the checks must catch). */
  tamperEntry(index: LogIndex, data: Uint8Array): boolean {
    const entry = this.entry(index);
    if (entry === undefined) return false;
    this.log[index - this.snapshotIndex() - 1] = { ...entry, data };
    return true;
  }

  private installSnapshot(snapshot: Snapshot): string[] {
    const problems: string[] = [];
    const { index, term } = snapshot.meta;
    if (index <= this.snapshotIndex()) {
      problems.push(`snapshot ${index}/t${term} is not newer than the one on disk (${this.snapshotIndex()})`);
      return problems;
    }
    if (index < this.hardStateValue.commit) {
      problems.push(`snapshot ${index}/t${term} is older than the persisted commit index ${this.hardStateValue.commit}`);
    }
    // The core hands out a snapshot to persist only when it replaced its whole log with
    // it (Figure 13, step 7), so the disk drops its whole log too and mirrors the core.
    this.snapshotValue = snapshot;
    this.log = [];
    return problems;
  }

  private appendEntries(entries: readonly Entry[]): string[] {
    const problems: string[] = [];
    const first = (entries[0] as Entry).index;
    for (let i = 1; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      const previous = entries[i - 1] as Entry;
      if (entry.index !== previous.index + 1 || entry.term < previous.term) {
        problems.push(`entries to persist are not contiguous with non-decreasing terms: ${previous.index}/t${previous.term} then ${entry.index}/t${entry.term}`);
        return problems;
      }
    }
    if (first > this.lastIndex() + 1) {
      problems.push(`entries to persist start at ${first}, leaving a gap after the disk's last index ${this.lastIndex()}`);
      return problems;
    }
    if (first <= this.snapshotIndex()) {
      problems.push(`entries to persist start at ${first}, inside the snapshot (up to ${this.snapshotIndex()})`);
      return problems;
    }
    for (const entry of entries) {
      if (entry.index > this.hardStateValue.commit) break;
      const existing = this.term(entry.index);
      if (existing !== undefined && existing !== entry.term) {
        problems.push(`entry ${entry.index}/t${entry.term} overwrites ${entry.index}/t${existing}, at or below the persisted commit index ${this.hardStateValue.commit}`);
        break;
      }
    }
    const previousTerm = this.term(first - 1) ?? 0;
    if ((entries[0] as Entry).term < previousTerm) {
      problems.push(`entry ${first}/t${(entries[0] as Entry).term} follows an entry of a later term t${previousTerm}`);
    }
    this.log.length = first - this.snapshotIndex() - 1;
    for (const entry of entries) this.log.push(entry);
    return problems;
  }

  private writeHardState(next: HardState): string[] {
    const problems: string[] = [];
    const previous = this.hardStateValue;
    if (next.term < previous.term) problems.push(`persisted term goes back from ${previous.term} to ${next.term}`);
    if (next.term === previous.term && previous.vote !== 0 && next.vote !== previous.vote) {
      problems.push(`persisted vote in term ${next.term} changes from ${previous.vote} to ${next.vote} (one vote per term, Figure 2)`);
    }
    if (next.commit < previous.commit) problems.push(`persisted commit index goes back from ${previous.commit} to ${next.commit}`);
    if (next.commit > this.lastIndex()) problems.push(`persisted commit index ${next.commit} is beyond the persisted log (last index ${this.lastIndex()})`);
    this.hardStateValue = next;
    return problems;
  }
}
