/**
 * Folds WAL records, oldest first, into the state they describe. Pure: no files,
 * so the rules can be tested on their own (wal-recovery.ts adds file names and offsets to
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
 *
 * The run's front may be spilled: past `memoryBytesMax` of entries, the oldest that a
 * hard state already records as committed keep only their terms (and, for those that
 * change the configuration, the whole entry), so a start does not hold the whole log
 * in memory; the core reads them back from the segments when it needs them
 * (wal-entry-reader.ts). A committed entry is never overwritten (§5.4.1, Figure 3's
 * Log Matching and Leader Completeness), so a later record that would overwrite one
 * is corruption.
 */
import type { Entry, HardState, LogIndex, Term } from '../raft/index.js';
import { TermRuns } from '../raft/index.js';
import type { WalRecord } from './wal-records.js';

/** The front of the run kept on disk only: the terms, and the entries that change the configuration. */
export interface SpilledEntries {
  readonly terms: TermRuns;
  readonly configEntries: readonly Entry[];
}

export interface ReplayResult {
  readonly hardState: HardState;
  readonly snapshotIndex: LogIndex;
  readonly snapshotTerm: Term;
  /** Entries on disk only, right before `compacted` and `entries` (absent: none). */
  readonly spilled: SpilledEntries | undefined;
  /** The log after the snapshot held in memory, contiguous from snapshotIndex + 1 or from the spilled entries' end. */
  readonly entries: Entry[];
  /** Entries at or below snapshotIndex still in the segments and in memory, contiguous, ending at snapshotIndex (or empty). */
  readonly compacted: Entry[];
  /**
   * Bytes of the entries after the snapshot (their data): exact for those in memory, and
   * for spilled ones their share of the spilled bytes by count. What a snapshot policy
   * counts since the last snapshot, so that a restart does not start that count over.
   */
  readonly bytesAfterSnapshot: number;
}

export class LogReplay {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snapshotIndex: LogIndex = 0;
  private snapshotTerm: Term = 0;
  /** The front of the run on disk only (spill); the run in memory follows it. */
  private spilled: TermRuns | undefined;
  private spilledConfigs: Entry[] = [];
  private spilledBytes = 0;
  /** Contiguous entries; may start anywhere, since old segments get deleted. */
  private run: Entry[] = [];
  private runBytes = 0;
  /** After a restore, the log is known to continue exactly at snapshotIndex + 1. */
  private anchored = false;

  constructor(private readonly memoryBytesMax = Number.POSITIVE_INFINITY) {}

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
        this.clearRun();
        this.snapshotIndex = record.index;
        this.snapshotTerm = record.term;
        this.anchored = true;
        return undefined;
    }
  }

  /**
   * Gives every entry held whose data is a view into `buffer` a copy of its own: replay
   * decodes entries as views into a segment's bytes, and the segments are read into one
   * buffer in turn. Few are held (memoryBytesMax), and each is copied once.
   */
  detachFrom(buffer: ArrayBufferLike): void {
    const own = (entry: Entry): Entry => (entry.data.buffer === buffer ? { ...entry, data: new Uint8Array(entry.data) } : entry);
    this.run = this.run.map(own);
    this.spilledConfigs = this.spilledConfigs.map(own);
  }

  /** Whether an entry at `index` would be kept (it is above the snapshot). */
  keeps(index: LogIndex): boolean {
    return index > this.snapshotIndex;
  }

  result(): ReplayResult | string {
    const cut = this.run.findIndex((e) => e.index > this.snapshotIndex);
    const entries = cut < 0 ? [] : this.run.slice(cut);
    const compacted = cut < 0 ? this.run : this.run.slice(0, cut);
    const spilled = this.spilled;
    const resumes = spilled && spilled.last() > this.snapshotIndex ? Math.max(spilled.first(), this.snapshotIndex + 1) : entries[0]?.index;
    if (resumes !== undefined && resumes > this.snapshotIndex + 1) {
      return `entries ${this.snapshotIndex + 1}..${resumes - 1} are missing: the snapshot is at ${this.snapshotIndex} but the log resumes at ${resumes}`;
    }
    const lastCompacted = compacted[compacted.length - 1];
    let bytesAfterSnapshot = 0;
    for (const entry of entries) bytesAfterSnapshot += entry.data.length;
    if (spilled && spilled.last() > this.snapshotIndex) {
      const count = spilled.last() - spilled.first() + 1;
      const after = spilled.last() - Math.max(spilled.first() - 1, this.snapshotIndex);
      bytesAfterSnapshot += Math.round((this.spilledBytes * after) / count);
    }
    return {
      bytesAfterSnapshot,
      hardState: this.hardState,
      snapshotIndex: this.snapshotIndex,
      snapshotTerm: this.snapshotTerm,
      spilled: this.spilled ? { terms: this.spilled, configEntries: this.spilledConfigs } : undefined,
      entries,
      compacted: lastCompacted && lastCompacted.index === this.snapshotIndex ? compacted : [],
    };
  }

  private lastIndex(): LogIndex | undefined {
    return this.run[this.run.length - 1]?.index ?? this.spilled?.last();
  }

  private termAt(index: LogIndex): Term | undefined {
    if (this.spilled && index <= this.spilled.last()) return this.spilled.term(index);
    const first = this.run[0];
    return first && index >= first.index ? this.run[index - first.index]?.term : undefined;
  }

  private clearRun(): void {
    this.run = [];
    this.runBytes = 0;
    this.spilled = undefined;
    this.spilledConfigs = [];
    this.spilledBytes = 0;
  }

  private applyEntry(entry: Entry): string | undefined {
    if (entry.index <= this.snapshotIndex) return undefined;
    const last = this.lastIndex();
    if (last === undefined) {
      if (this.anchored && entry.index !== this.snapshotIndex + 1) {
        return `entry ${entry.index} follows a restore to snapshot ${this.snapshotIndex}; expected ${this.snapshotIndex + 1}`;
      }
      if (entry.index === this.snapshotIndex + 1 && entry.term < this.snapshotTerm) {
        return `entry ${entry.index} has term ${entry.term}, lower than the snapshot's term ${this.snapshotTerm}`;
      }
      this.push(entry);
      return undefined;
    }
    if (entry.index > last + 1) return `entry ${entry.index} follows entry ${last}: entries in between are missing`;
    if (this.spilled && entry.index <= this.spilled.last()) {
      return `entry ${entry.index} overwrites entry ${this.spilled.last()}, which a hard state before it recorded as committed`;
    }
    const first = this.run[0];
    if (first) {
      if (entry.index <= first.index && !this.spilled) this.clearRun();
      else {
        const keep = entry.index - first.index;
        for (let i = keep; i < this.run.length; i++) this.runBytes -= (this.run[i] as Entry).data.length;
        this.run.length = keep;
      }
    }
    const previousTerm = this.termAt(entry.index - 1) ?? (entry.index === this.snapshotIndex + 1 ? this.snapshotTerm : 0);
    if (entry.term < previousTerm) return `entry ${entry.index} has term ${entry.term}, lower than the term ${previousTerm} before it`;
    this.push(entry);
    return undefined;
  }

  /** Adds an entry after the run's end; past the memory bound, spills the oldest committed ones down to half of it. */
  private push(entry: Entry): void {
    this.run.push(entry);
    this.runBytes += entry.data.length;
    if (this.runBytes <= this.memoryBytesMax) return;
    let count = 0;
    while (this.runBytes > this.memoryBytesMax / 2 && count < this.run.length && (this.run[count] as Entry).index <= this.hardState.commit) {
      const spill = this.run[count] as Entry;
      this.spilled ??= new TermRuns(spill.index);
      this.spilled.push(spill.index, spill.term);
      if (spill.kind === 'config') this.spilledConfigs.push(spill);
      this.spilledBytes += spill.data.length;
      this.runBytes -= spill.data.length;
      count++;
    }
    if (count > 0) this.run = this.run.slice(count);
  }

  private applySnapshot(index: LogIndex, term: Term): string | undefined {
    if (index < this.snapshotIndex) return `snapshot marker at ${index} after one at ${this.snapshotIndex}`;
    if (index === this.snapshotIndex && index > 0 && term !== this.snapshotTerm) {
      return `snapshot marker at ${index} has term ${term}, but the snapshot there has term ${this.snapshotTerm}`;
    }
    const last = this.lastIndex();
    if (last !== undefined) {
      if (index > last) return `snapshot marker at ${index} is past the last entry ${last}`;
      const there = this.termAt(index);
      if (there !== undefined && there !== term) return `snapshot marker at ${index} has term ${term}, but the entry there has term ${there}`;
    }
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    return undefined;
  }
}
