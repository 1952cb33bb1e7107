/**
 * The replicated log as one node holds it in memory: the entries after the last
 * snapshot, plus its positions — how far it is handed out for persistence and
 * persisted, committed, handed out for applying and applied.
 *
 *   snapshot.index  <  first ... persisted <= persisting ... lastIndex
 *                       applied <= applying <= committed <= lastIndex
 *
 * The runtime persists and applies in a pipeline (types.ts, Ready): `persisting` and
 * `applying` are how far the core has handed work out, `persisted` and `applied` how
 * far the runtime has reported it done.
 */
import type { Entry, LogIndex, Term } from './types.js';
import { assert } from '../lib/index.js';

/** Fixed cost counted per entry besides its data, for byte limits. */
export const entryOverheadBytes = 24;

export function entryBytes(entry: Entry): number {
  return entry.data.length + entryOverheadBytes;
}

export class RaftLog {
  /** Index and term of the last entry folded into the snapshot (0, 0 when none). */
  private snapshotIndex: LogIndex;
  private snapshotTerm: Term;
  /** entries[i].index === snapshotIndex + 1 + i */
  private entries: Entry[] = [];
  committed: LogIndex;
  applied: LogIndex;
  /** The last index the runtime reported durable (RaftNode.persisted). */
  persisted: LogIndex;
  /** The last index handed to the runtime for persistence (RaftNode.ready), durable or not. */
  persisting: LogIndex;
  /** The last committed index handed to the runtime to apply (RaftNode.ready), applied or not. */
  applying: LogIndex;

  constructor(options: { snapshotIndex: LogIndex; snapshotTerm: Term; entries: readonly Entry[]; committed: LogIndex; applied: LogIndex }) {
    this.snapshotIndex = options.snapshotIndex;
    this.snapshotTerm = options.snapshotTerm;
    options.entries.forEach((entry, i) => {
      assert(entry.index === options.snapshotIndex + 1 + i, () => `log is not contiguous at ${entry.index}`);
    });
    this.entries = [...options.entries];
    this.persisted = this.lastIndex();
    this.persisting = this.persisted;
    this.committed = Math.max(options.committed, options.snapshotIndex);
    assert(this.committed <= this.lastIndex(), () => `commit ${this.committed} is past the last index ${this.lastIndex()}`);
    this.applied = Math.min(Math.max(options.applied, options.snapshotIndex), this.committed);
    this.applying = this.applied;
  }

  firstIndex(): LogIndex {
    return this.snapshotIndex + 1;
  }

  lastIndex(): LogIndex {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) as Term;
  }

  compactedIndex(): LogIndex {
    return this.snapshotIndex;
  }

  /** The term of the entry at `index`, or undefined when it is compacted or beyond the end. */
  term(index: LogIndex): Term | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.snapshotIndex - 1] as Entry).term;
  }

  entry(index: LogIndex): Entry {
    assert(index > this.snapshotIndex && index <= this.lastIndex(), () => `entry ${index} is not in the log [${this.firstIndex()}, ${this.lastIndex()}]`);
    return this.entries[index - this.snapshotIndex - 1] as Entry;
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours if its last term is
   * higher, or equal with an index at least as high. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The first of `entries` that is missing here or whose term differs from ours at
   * that index; 0 when we already hold all of them. Only a real conflict justifies
   * truncation: a stale or duplicated AppendEntries whose entries we already have
   * must never shrink the log (§5.3, "If an existing entry conflicts with a new one
   * (same index but different terms), delete the existing entry and all that follow").
   */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`: where a log that has
   * `term` at `index` could still agree with ours (fast backtracking, §5.3).
   */
  findConflictByTerm(index: LogIndex, term: Term): LogIndex {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshotIndex && (this.term(i) as Term) > term) i--;
    return i;
  }

  /** Appends entries, first dropping ours from entries[0].index on. Returns the truncation point or 0. */
  append(entries: readonly Entry[]): LogIndex {
    if (entries.length === 0) return 0;
    const first = (entries[0] as Entry).index;
    assert(first > this.committed, () => `refusing to overwrite committed entry ${first} (commit ${this.committed})`);
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    const truncatedFrom = first <= this.lastIndex() ? first : 0;
    this.entries.length = first - this.snapshotIndex - 1;
    for (const entry of entries) this.entries.push(entry);
    // What was written (or is being written) from `first` on is another entry now: it
    // is handed out again, and an acknowledgement of the old one will not match its term.
    this.persisted = Math.min(this.persisted, first - 1);
    this.persisting = Math.min(this.persisting, first - 1);
    return truncatedFrom;
  }

  /** Entries in [low, high) within the byte and count limits, always at least one. */
  slice(low: LogIndex, high: LogIndex, limits: { bytesMax: number; countMax: number } = { bytesMax: Infinity, countMax: Infinity }): Entry[] {
    assert(low > this.snapshotIndex, () => `slice from ${low} reaches compacted entries (snapshot ${this.snapshotIndex})`);
    const end = Math.min(high, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = low; i < end; i++) {
      const entry = this.entries[i - this.snapshotIndex - 1] as Entry;
      bytes += entryBytes(entry);
      if (out.length > 0 && (bytes > limits.bytesMax || out.length >= limits.countMax)) break;
      out.push(entry);
    }
    return out;
  }

  /** The entries not yet handed out for persistence. */
  unpersisted(): Entry[] {
    return this.entries.slice(this.persisting - this.snapshotIndex);
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commit ${index} is past the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Drops entries up to `index`, which the state machine has applied and snapshotted. */
  compact(index: LogIndex): void {
    if (index <= this.snapshotIndex) return;
    assert(index <= this.applied, () => `compact to ${index} before applying it (applied ${this.applied})`);
    this.snapshotTerm = this.term(index) as Term;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
  }

  /** Replaces the whole log with a snapshot (InstallSnapshot, §7 Figure 13 step 7). */
  restore(index: LogIndex, term: Term): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    this.persisted = index;
    this.persisting = index;
  }

  /** Checks the log's own shape: contiguous indexes, terms never decreasing. */
  checkShape(entriesToCheckMax: number): void {
    const start = Math.max(0, this.entries.length - entriesToCheckMax);
    let previousTerm = start === 0 ? this.snapshotTerm : (this.entries[start - 1] as Entry).term;
    for (let i = start; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      assert(entry.index === this.snapshotIndex + 1 + i, () => `log index ${entry.index} at position ${i} (snapshot ${this.snapshotIndex})`);
      assert(entry.term >= previousTerm, () => `log term decreases at ${entry.index}: ${entry.term} after ${previousTerm}`);
      previousTerm = entry.term;
    }
  }
}
