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
 *
 * Entries applied and durable may be released from memory (release): their terms stay,
 * as runs (term-runs.ts), and their data is read back from the runtime's storage
 * through a LogReader when a follower behind needs them. Such entries are committed, so
 * nothing ever overwrites them, and what the runtime reads back is what it wrote.
 *
 *   snapshot.index  <  first ... onDisk ...  memory ... lastIndex
 */
import type { Entry, LogIndex, LogReader, Term } from './types.js';
import { TermRuns } from './term-runs.js';
import { assert } from '../lib/index.js';

/** Fixed cost counted per entry besides its data, for byte limits. */
export const entryOverheadBytes = 24;

export function entryBytes(entry: Entry): number {
  return entry.data.length + entryOverheadBytes;
}

/**
 * Whether a batch of `count` entries holding `bytes` (entryBytes, counting the next one)
 * goes past the limits. The first entry never does: a batch always makes progress, even
 * with an entry larger than the byte limit.
 */
export function pastLimits(count: number, bytes: number, limits: { readonly bytesMax: number; readonly countMax: number }): boolean {
  return count > 0 && (bytes > limits.bytesMax || count >= limits.countMax);
}

export class RaftLog {
  /** Index and term of the last entry folded into the snapshot (0, 0 when none). */
  private snapshotIndex: LogIndex;
  private snapshotTerm: Term;
  /** The entries after the snapshot released from memory: [snapshotIndex + 1, onDisk.last()]. */
  private onDisk: TermRuns;
  /** The entries held in memory: entries[i].index === onDisk.last() + 1 + i */
  private entries: Entry[] = [];
  /** entryBytes of the entries held in memory. */
  private memoryBytes = 0;
  private readonly reader: LogReader | undefined;
  committed: LogIndex;
  applied: LogIndex;
  /** The last index the runtime reported durable (RaftNode.persisted). */
  persisted: LogIndex;
  /** The last index handed to the runtime for persistence (RaftNode.ready), durable or not. */
  persisting: LogIndex;
  /** The last committed index handed to the runtime to apply (RaftNode.ready), applied or not. */
  applying: LogIndex;

  constructor(options: {
    snapshotIndex: LogIndex;
    snapshotTerm: Term;
    /** Entries right after the snapshot that are on disk only; `entries` follow them. */
    onDisk?: TermRuns;
    entries: readonly Entry[];
    committed: LogIndex;
    applied: LogIndex;
    reader?: LogReader;
  }) {
    this.snapshotIndex = options.snapshotIndex;
    this.snapshotTerm = options.snapshotTerm;
    this.reader = options.reader;
    this.onDisk = options.onDisk ?? new TermRuns(options.snapshotIndex + 1);
    assert(
      this.onDisk.first() === options.snapshotIndex + 1,
      () => `entries on disk start at ${this.onDisk.first()}, not after the snapshot at ${options.snapshotIndex}`,
    );
    assert(this.onDisk.isEmpty() || this.reader, 'entries on disk need a reader');
    const memoryFirst = this.onDisk.last() + 1;
    options.entries.forEach((entry, i) => {
      assert(entry.index === memoryFirst + i, () => `log is not contiguous at ${entry.index}`);
    });
    this.entries = [...options.entries];
    for (const entry of this.entries) this.memoryBytes += entryBytes(entry);
    this.persisted = this.lastIndex();
    this.persisting = this.persisted;
    this.committed = Math.max(options.committed, options.snapshotIndex);
    assert(this.committed <= this.lastIndex(), () => `commit ${this.committed} is past the last index ${this.lastIndex()}`);
    assert(this.onDisk.last() <= this.committed, () => `entries up to ${this.onDisk.last()} are on disk only, but only ${this.committed} are committed`);
    this.applied = Math.min(Math.max(options.applied, options.snapshotIndex), this.committed);
    this.applying = this.applied;
  }

  firstIndex(): LogIndex {
    return this.snapshotIndex + 1;
  }

  lastIndex(): LogIndex {
    return this.onDisk.last() + this.entries.length;
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
    if (index <= this.onDisk.last()) return this.onDisk.term(index);
    return (this.entries[index - this.onDisk.last() - 1] as Entry).term;
  }

  /** The entry at `index`, read back from disk if it was released from memory. */
  entry(index: LogIndex): Entry {
    assert(index > this.snapshotIndex && index <= this.lastIndex(), () => `entry ${index} is not in the log [${this.firstIndex()}, ${this.lastIndex()}]`);
    if (index <= this.onDisk.last()) return this.readBack(index, index + 1, { bytesMax: 0, countMax: 1 })[0] as Entry;
    return this.entries[index - this.onDisk.last() - 1] as Entry;
  }

  /** Whether the entry at `index` is held in memory (not compacted, not released). */
  inMemory(index: LogIndex): boolean {
    return index > this.onDisk.last() && index <= this.lastIndex();
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
    const keep = first - this.onDisk.last() - 1;
    for (let i = keep; i < this.entries.length; i++) this.memoryBytes -= entryBytes(this.entries[i] as Entry);
    this.entries.length = keep;
    for (const entry of entries) {
      this.entries.push(entry);
      this.memoryBytes += entryBytes(entry);
    }
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
    const out = low <= this.onDisk.last() ? this.readBack(low, Math.min(end, this.onDisk.last() + 1), limits) : [];
    let bytes = 0;
    for (const entry of out) bytes += entryBytes(entry);
    if (low + out.length <= this.onDisk.last()) return out;
    for (let i = Math.max(low, this.onDisk.last() + 1); i < end; i++) {
      const entry = this.entries[i - this.onDisk.last() - 1] as Entry;
      bytes += entryBytes(entry);
      if (pastLimits(out.length, bytes, limits)) break;
      out.push(entry);
    }
    return out;
  }

  /** The entries not yet handed out for persistence. */
  unpersisted(): Entry[] {
    return this.entries.slice(this.persisting - this.onDisk.last());
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commit ${index} is past the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /**
   * Keeps at most about `bytesMax` of entries in memory: once more are held, the
   * oldest that are applied and durable are released down to half of it (so the
   * array is not copied at every Ready), and read back from disk when needed. Does
   * nothing without a reader.
   */
  release(bytesMax: number): void {
    if (!this.reader || this.memoryBytes <= bytesMax) return;
    const releasable = Math.min(this.applied, this.persisted);
    let count = 0;
    while (this.memoryBytes > bytesMax / 2 && this.onDisk.last() + 1 <= releasable) {
      const entry = this.entries[count] as Entry;
      this.onDisk.push(entry.index, entry.term);
      this.memoryBytes -= entryBytes(entry);
      count++;
    }
    if (count > 0) this.entries = this.entries.slice(count);
  }

  /** Drops entries up to `index`, which the state machine has applied and snapshotted. */
  compact(index: LogIndex): void {
    if (index <= this.snapshotIndex) return;
    assert(index <= this.applied, () => `compact to ${index} before applying it (applied ${this.applied})`);
    this.snapshotTerm = this.term(index) as Term;
    const dropFromMemory = Math.max(0, index - this.onDisk.last());
    for (let i = 0; i < dropFromMemory; i++) this.memoryBytes -= entryBytes(this.entries[i] as Entry);
    if (dropFromMemory > 0) {
      this.entries = this.entries.slice(dropFromMemory);
      this.onDisk = new TermRuns(index + 1);
    } else {
      this.onDisk.dropThrough(index);
    }
    this.snapshotIndex = index;
  }

  /** Replaces the whole log with a snapshot (InstallSnapshot, §7 Figure 13 step 7). */
  restore(index: LogIndex, term: Term): void {
    this.entries = [];
    this.memoryBytes = 0;
    this.onDisk = new TermRuns(index + 1);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    this.persisted = index;
    this.persisting = index;
  }

  /** Checks the log's own shape: contiguous indexes, terms never decreasing. */
  checkShape(entriesToCheckMax: number): void {
    const start = Math.max(0, this.entries.length - entriesToCheckMax);
    const base = this.onDisk.last() + 1;
    let previousTerm = this.term(base + start - 1) as Term;
    for (let i = start; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      assert(entry.index === base + i, () => `log index ${entry.index} at position ${i} (entries in memory from ${base})`);
      assert(entry.term >= previousTerm, () => `log term decreases at ${entry.index}: ${entry.term} after ${previousTerm}`);
      previousTerm = entry.term;
    }
  }

  /**
   * Entries [low, high), all released, from the reader. Each must be the entry this
   * log holds there: a storage that answered another would make this node send or
   * apply what was never committed, so it stops the node instead.
   */
  private readBack(low: LogIndex, high: LogIndex, limits: { bytesMax: number; countMax: number }): Entry[] {
    const out = (this.reader as LogReader).read(low, high, limits);
    assert(out.length > 0 && low + out.length <= high, () => `the log reader answered ${out.length} entries for [${low}, ${high})`);
    out.forEach((entry, i) => {
      assert(
        entry.index === low + i && entry.term === this.onDisk.term(entry.index),
        () => `the log reader answered entry ${entry.index} (term ${entry.term}) for entry ${low + i} (term ${this.onDisk.term(low + i)})`,
      );
    });
    return out;
  }
}
