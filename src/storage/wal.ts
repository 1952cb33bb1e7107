/**
 * The write-ahead log: the Raft log and hard state, in segment files of framed,
 * checksummed records (record-codec.ts, wal-records.ts).
 *
 * Writing. One save() is one Ready: its records go out in a single write, sealed
 * by a commit record, and are made durable by that one write (O_DSYNC, group
 * commit), so a Ready costs one disk flush however many entries it holds. A Ready
 * whose only news is a higher commit index (onlyMovesCommit) is not written at all:
 * the next write, or the close, carries its hard state. Recovery applies a
 * write only if its commit record is there: a Ready is recovered whole or not at
 * all, never as entries without the hard state that came with them. A save never
 * spans two segments; a new
 * segment is cut before a save once the current one has reached segmentBytesMax.
 * A new segment starts with a header and a copy of the current snapshot marker and
 * hard state, so older segments can be deleted without losing either; it is
 * synced, then its directory is synced, before anything is written to it. Segment
 * files are preallocated to segmentBytesMax in the background (segment-preparer.ts),
 * so a full disk is met when a segment is prepared, never inside a record; their
 * unused tails are zeros.
 *
 * Opening (wal-recovery.ts). Segments are replayed oldest first; a write cut short by
 * a crash at the end of the newest segment is truncated, and any other damage is
 * WalCorruptionError, naming the file and offset. Then a fresh segment is started, so
 * the torn segment is never appended to and the newest segment always begins with the
 * full state.
 *
 * Failure. Any error while writing poisons the WAL: an FsyncError (or any other)
 * is rethrown, and every later call is refused with StorageUnusableError. The
 * process must restart and recover from disk; an fsync is never retried.
 */
import { posix } from 'node:path';
import type { Entry, HardState, LogIndex, Term } from '../raft/index.js';
import { assert } from '../lib/index.js';
import type { FileHandle, FileSystem } from './file-system.js';
import { StorageUnusableError } from './errors.js';
import type { WalEntryReader, ReadableSegment } from './wal-entry-reader.js';
import { recoverWal, type WalOptions, type WalState } from './wal-recovery.js';
import { SerialQueue } from './serial-queue.js';
import type { WalRecord } from './wal-records.js';
import { encodeWriteGroup } from './wal-records.js';
import type { Segment } from './wal-segments.js';
import { type SegmentBook, segmentName } from './wal-segments.js';
import { SegmentPreparer } from './segment-preparer.js';

export { WalCorruptionError } from './errors.js';

export type { WalOptions, WalState };

export interface WalUpdate {
  /** The log was replaced by this snapshot (installed from the leader): every entry
   * before it is void. Written first, in the same group commit. */
  snapshot?: { index: LogIndex; term: Term };
  hardState?: HardState;
  /** Entries may overwrite a suffix: entries[0].index <= the last index means
   * "truncate from there". */
  entries: readonly Entry[];
}

export const DEFAULT_SEGMENT_BYTES_MAX = 64 * 1024 * 1024;

export class Wal {
  private readonly queue = new SerialQueue();
  private handle: FileHandle | undefined;
  /** Bytes in the current segment. */
  private size = 0;
  private lastIndex: LogIndex;
  private snapshotIndex: LogIndex;
  private snapshotTerm: Term;
  private hardState: HardState;
  /** hardState holds a commit index not yet written (onlyMovesCommit): the next write carries it. */
  private hardStateUnwritten = false;
  private failure: string | undefined;
  private readonly preparer: SegmentPreparer;
  /** The log's first index, if the log reads entries back: no segment holding entries from it on is deleted (keepEntriesFrom). */
  private readFloor: LogIndex | undefined;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly segmentBytesMax: number,
    private readonly book: SegmentBook,
    state: WalState,
    /** Every segment, open for reading entries back (entryReader). */
    private readonly readable: Map<number, ReadableSegment>,
    /** Reads entries back for the Raft core (LogReader). */
    readonly entryReader: WalEntryReader,
  ) {
    this.hardState = state.hardState;
    this.snapshotIndex = state.snapshotIndex;
    this.snapshotTerm = state.snapshotTerm;
    this.lastIndex = Math.max(state.entries[state.entries.length - 1]?.index ?? 0, state.spilled?.terms.last() ?? 0, state.snapshotIndex);
    this.preparer = new SegmentPreparer(fs, dir, segmentBytesMax);
  }

  static async open(options: WalOptions): Promise<{ wal: Wal; state: WalState }> {
    const segmentBytesMax = options.segmentBytesMax ?? DEFAULT_SEGMENT_BYTES_MAX;
    assert(Number.isInteger(segmentBytesMax) && segmentBytesMax > 0, `segmentBytesMax must be a positive integer, got ${segmentBytesMax}`);
    const { state, book, entryReader, readable, skipped } = await recoverWal(options);
    const wal = new Wal(options.fs, options.dir, segmentBytesMax, book, state, readable, entryReader);
    try {
      // A skipped segment holds only entries before the log's start: none is read back.
      for (const segment of book.segments) if (!skipped.has(segment.seq)) await wal.openReadable(segment);
      await wal.cut();
    } catch (error) {
      await wal.close().catch(() => undefined);
      throw error;
    }
    return { wal, state };
  }

  /**
   * One Ready's worth, written then made durable with ONE fdatasync (group commit).
   * Entries may overwrite a suffix: entries[0].index <= last index means "truncate
   * from there".
   */
  save(update: WalUpdate): Promise<void> {
    return this.queue.run(async () => {
      this.usable();
      const { snapshot, hardState, entries } = update;
      let last = this.lastIndex;
      let floor = this.snapshotIndex;
      if (snapshot) {
        assert(snapshot.index >= this.snapshotIndex, () => `restore to snapshot ${snapshot.index} below the snapshot at ${this.snapshotIndex}`);
        last = floor = snapshot.index;
      }
      entries.forEach((e, i) => {
        const expectedMax = i === 0 ? last + 1 : (entries[i - 1] as Entry).index + 1;
        assert(
          i === 0 ? e.index <= expectedMax : e.index === expectedMax,
          () => `entry ${e.index} does not follow ${expectedMax - 1}: entries must be contiguous with the log`,
        );
        assert(e.index > floor, () => `entry ${e.index} is at or below the snapshot at ${floor}`);
      });
      if (!snapshot && !hardState && entries.length === 0) return;
      if (onlyMovesCommit(update, this.hardState)) {
        this.hardState = hardState as HardState;
        this.hardStateUnwritten = true;
        return;
      }

      const records: WalRecord[] = [];
      if (snapshot) records.push({ type: 'restore', index: snapshot.index, term: snapshot.term });
      for (const entry of entries) records.push({ type: 'entry', entry });
      const position = await this.writeGroup(this.withHardState(records, hardState));

      const segment = this.book.current as Segment;
      if (snapshot) {
        this.entryReader.restored(snapshot.index);
        if (this.readFloor !== undefined) this.readFloor = Math.max(this.readFloor, snapshot.index + 1);
        this.book.noteRestore();
        this.snapshotIndex = snapshot.index;
        this.snapshotTerm = snapshot.term;
        this.lastIndex = snapshot.index;
      }
      const first = entries[0];
      if (first) {
        let bytes = 0;
        for (const entry of entries) bytes += entry.data.length;
        this.entryReader.written(segment.seq, position, first.index, (entries[entries.length - 1] as Entry).index, bytes);
        this.book.noteEntry(segment, first.index);
        segment.liveMax = (entries[entries.length - 1] as Entry).index;
        this.lastIndex = segment.liveMax;
      }
      if (hardState) this.hardState = hardState;
    });
  }

  /**
   * A snapshot up to `index` exists (already durable in the snapshot store): record
   * it and delete whole segments that only hold entries <= index. With
   * `keepEntriesAfter` (<= index), segments holding entries after that index are
   * kept, so an older snapshot plus the WAL can stand in if the newest snapshot
   * file is ever found damaged.
   */
  compact(snapshot: { index: LogIndex; term: Term }, options: { keepEntriesAfter?: LogIndex } = {}): Promise<void> {
    return this.queue.run(async () => {
      this.usable();
      const { index, term } = snapshot;
      if (index < this.snapshotIndex) return;
      if (index === this.snapshotIndex) {
        assert(term === this.snapshotTerm, () => `snapshot at ${index} with term ${term}, but the WAL has it with term ${this.snapshotTerm}`);
      } else {
        assert(index <= this.lastIndex, () => `cannot compact to ${index}: the log ends at ${this.lastIndex}`);
        const records = this.withHardState([{ type: 'snapshot', index, term }]);
        await this.guard(() => this.append(encodeWriteGroup(records)));
        this.hardStateUnwritten = false;
        this.snapshotIndex = index;
        this.snapshotTerm = term;
      }
      // The log may still read entries back from its first index on.
      const doomed = this.book.deletableUpTo(Math.min(index, options.keepEntriesAfter ?? index, (this.readFloor ?? index + 1) - 1));
      if (doomed.length === 0) return;
      await this.guard(async () => {
        // Oldest first: a crash part-way leaves a suffix of the history, which still replays.
        for (const segment of doomed) await this.fs.unlink(posix.join(this.dir, segment.name));
        await this.fs.syncDir(this.dir);
      });
      this.book.remove(doomed);
      if (this.readFloor !== undefined) this.entryReader.forgetThrough(this.readFloor - 1);
      for (const segment of doomed) await this.closeReadable(segment.seq);
    });
  }

  /**
   * The Raft log now starts at `index` (a compaction or a start): segments holding
   * entries from there on are kept, as the core may read them back (entryReader).
   */
  keepEntriesFrom(index: LogIndex): void {
    this.readFloor = Math.max(this.readFloor ?? 0, index);
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      await this.preparer.settled();
      if (this.failure === undefined) {
        // A clean stop keeps the commit index, which a restart would otherwise learn again.
        if (this.hardStateUnwritten && this.handle) await this.writeGroup([{ type: 'hardState', hardState: this.hardState }]);
        this.failure = 'the WAL was closed';
      }
      const handle = this.handle;
      this.handle = undefined;
      if (handle) await handle.close();
      for (const seq of [...this.readable.keys()]) await this.closeReadable(seq);
    });
  }

  /** Resolves once the background preparation of the next segment has finished (or failed). */
  nextSegmentSettled(): Promise<void> {
    return this.preparer.settled();
  }

  /** The segment file names, oldest first. */
  segmentNames(): string[] {
    return this.book.segments.map((s) => s.name);
  }

  // ---------------------------------------------------------------------------

  /** Starts a new segment: header plus the current state, synced, then the directory synced. */
  private async cut(): Promise<void> {
    const previous = this.book.current;
    const seq = (previous?.seq ?? 0) + 1;
    const firstIndex = this.lastIndex + 1;
    const name = segmentName(seq, firstIndex);
    const bytes = encodeWriteGroup([
      { type: 'segment', seq, firstIndex },
      { type: 'snapshot', index: this.snapshotIndex, term: this.snapshotTerm },
      { type: 'hardState', hardState: this.hardState },
    ]);
    const prepared = await this.preparer.take();
    const handle = await this.fs.open(prepared, 'write');
    try {
      // The header is durable before the file gets its segment name, so a segment
      // found after a crash always starts with one.
      await handle.write(bytes, 0);
      await handle.datasync();
      await this.fs.rename(prepared, posix.join(this.dir, name));
      await this.fs.syncDir(this.dir);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    const old = this.handle;
    this.handle = handle;
    this.size = bytes.length;
    await this.openReadable(this.book.add(name, seq, firstIndex));
    this.preparer.start();
    if (old) await old.close();
  }

  /** `records` followed by `own`, or else by the hard state not yet written, if any. */
  private withHardState(records: WalRecord[], own?: HardState): WalRecord[] {
    const hardState = own ?? (this.hardStateUnwritten ? this.hardState : undefined);
    if (hardState) records.push({ type: 'hardState', hardState });
    return records;
  }

  /**
   * Writes one group of records durably, in the current segment or a new one cut first
   * if the current one is full, and returns where in the segment it starts. Every write
   * is durable (onlyMovesCommit: what need not be is not written), so the segment is
   * durable up to its end after each.
   */
  private async writeGroup(records: WalRecord[]): Promise<number> {
    let position = 0;
    await this.guard(async () => {
      if (this.size >= this.segmentBytesMax) await this.cut();
      position = this.size;
      await this.append(encodeWriteGroup(records));
    });
    this.hardStateUnwritten = false;
    return position;
  }

  /**
   * One durable write (FileHandle.writeDurably), not a write and then an fdatasync: the
   * flush starts on the thread pool at once instead of waiting for a turn of the event
   * loop between the two, which under load held every Ready's acknowledgement back.
   */
  private async append(bytes: Uint8Array): Promise<void> {
    await (this.handle as FileHandle).writeDurably(bytes, this.size);
    this.size += bytes.length;
  }

  private async openReadable(segment: Segment): Promise<void> {
    this.readable.set(segment.seq, { name: segment.name, handle: await this.fs.open(posix.join(this.dir, segment.name), 'read') });
  }

  private async closeReadable(seq: number): Promise<void> {
    const segment = this.readable.get(seq);
    this.readable.delete(seq);
    await segment?.handle.close();
  }

  /** Runs a write; any failure leaves the files in an unknown state, so it poisons the WAL. */
  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.failure = `an earlier write failed: ${error instanceof Error ? error.message : String(error)}`;
      throw error;
    }
  }

  private usable(): void {
    if (this.failure !== undefined)
      throw new StorageUnusableError(`The WAL in ${this.dir} refuses writes: ${this.failure}; restart the process to recover from disk`);
  }
}

/**
 * Whether an update's only news is a higher commit index, so it need not be written now.
 * Entries, a restore and a new term or vote must reach the disk before the Ready goes on
 * (Figure 2: they are promised to others once its messages leave). The commit index is
 * volatile state in Figure 2: a node that forgets part of it learns it again from the
 * leader, and a store that applied past it is handled at start (RaftNode.appliedEntries).
 * So it is written with the next update that must be, or at a clean close, and a Ready
 * that only commits costs no write at all.
 */
export function onlyMovesCommit(update: WalUpdate, written: HardState): boolean {
  const { snapshot, hardState, entries } = update;
  if (snapshot || entries.length > 0 || hardState === undefined) return false;
  return hardState.term === written.term && hardState.vote === written.vote;
}
