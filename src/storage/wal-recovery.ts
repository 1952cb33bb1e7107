/**
 * Opening a WAL, up to the point where it can be written again (Wal.open then opens
 * its segments for reading entries back and cuts a fresh one).
 *
 * The segments must run without a gap in their sequence numbers, and are replayed
 * oldest first (wal-replay.ts); the oldest ones that hold only entries an intact
 * snapshot covers are not read at all (skipEntriesThrough). Damage is judged by where
 * it is:
 *   - a bad record with nothing valid after it, or a write without its commit
 *     record, at the end of the newest segment, is a write cut short by a crash
 *     (torn, or zero-filled where the size grew but the data never landed). It was
 *     never acknowledged: it is truncated, and logged (file and offset).
 *   - a bad record followed by valid records, or a bad record in an older segment,
 *     is corruption of data that was once durable: WalCorruptionError, naming the
 *     file and offset. Never guessed around, never skipped.
 * The newest segment's unused preallocated tail is given back.
 */
import { posix } from 'node:path';
import type { Entry, HardState, LogIndex, Term } from '../raft/index.js';
import type { FileSystem } from './file-system.js';
import { WalCorruptionError } from './errors.js';
import { readSegment, repairHint, type LocatedRecord, type SegmentContents } from './segment-reader.js';
import { WalEntryReader, type ReadableSegment } from './wal-entry-reader.js';
import { LogReplay, type SpilledEntries } from './wal-replay.js';
import { SegmentBook, parseSegmentName } from './wal-segments.js';

export interface WalOptions {
  fs: FileSystem;
  dir: string;
  /** Cut a new segment once the current one holds this many bytes (default 64 MiB). */
  segmentBytesMax?: number;
  /** Where recovery reports what it truncated; defaults to console.warn. */
  log?: (msg: string) => void;
  /** Bytes of entries replay holds in memory; past them, committed entries stay on disk (WalState.spilled). */
  memoryBytesMax?: number;
  /**
   * The oldest segments that hold only entries up to this index are not read: a start
   * whose snapshot there is intact needs nothing from them (they are kept for a start
   * that must fall back to an older snapshot), and reading and checking them took as
   * long as the rest of the log.
   */
  skipEntriesThrough?: LogIndex;
}

export interface WalState {
  hardState: HardState;
  /** Entries on disk only (past WalOptions.memoryBytesMax at replay), right before `compacted` and `entries`. */
  spilled: SpilledEntries | undefined;
  /** The log after the snapshot held in memory, contiguous from snapshotIndex + 1 or the spilled entries' end. */
  entries: Entry[];
  snapshotIndex: LogIndex;
  snapshotTerm: Term;
  /** Entries at or below snapshotIndex that the segments still hold, contiguous and
   * ending at snapshotIndex (or empty): enough to fall back to an older snapshot. */
  compacted: Entry[];
  /** About how many bytes of entries the log holds after the snapshot (ReplayResult). */
  bytesAfterSnapshot: number;
}

/** What a start found in the segments, for Wal.open. */
export interface RecoveredWal {
  readonly state: WalState;
  readonly book: SegmentBook;
  readonly entryReader: WalEntryReader;
  /** Filled by the Wal as it opens segments for reading (entryReader reads through it). */
  readonly readable: Map<number, ReadableSegment>;
  /** Segments not read (WalOptions.skipEntriesThrough): nothing is read back from them either. */
  readonly skipped: ReadonlySet<number>;
}

/** Reads and replays the WAL's segments, mending a torn tail (see the top of this file). */
export async function recoverWal(options: WalOptions): Promise<RecoveredWal> {
  const { fs, dir } = options;
  const log = options.log ?? ((msg: string) => console.warn(msg));
  await fs.mkdirp(dir);

  const found = await listSegments(fs, dir);

  const replay = new LogReplay(options.memoryBytesMax);
  const readable = new Map<number, ReadableSegment>();
  const entryReader = new WalEntryReader((seq) => readable.get(seq));
  const book = new SegmentBook();
  let torn: TornTail | undefined;
  let unusedTail: { name: string; end: number } | undefined;
  const newest = found[found.length - 1];
  const newestRead = newest && options.skipEntriesThrough !== undefined ? await readWhole(fs, dir, newest, true) : undefined;
  // Skipped only below the WAL's own snapshot marker as well: the log it replays
  // starts right after that marker, whatever the snapshot files say.
  const skipThrough = Math.min(options.skipEntriesThrough ?? 0, newestRead ? finalSnapshotIndex(newestRead.contents) : 0);
  let skipping = skipThrough > 0;
  const skipped = new Set<number>();
  /** The segments are read into one buffer in turn (FileSystem.readFile); replay keeps copies of what it holds. */
  let segmentBuffer: Uint8Array | undefined;
  for (const [i, file] of found.entries()) {
    const isNewest = i === found.length - 1;
    // A segment holds no entry past the next one's first index (the log's end when
    // that one was cut): below it, it holds only entries at or below the snapshot.
    const entriesBelow = found[i + 1]?.firstIndex;
    skipping &&= entriesBelow !== undefined && entriesBelow - 1 <= skipThrough;
    if (skipping) {
      book.add(file.name, file.seq, file.firstIndex).liveMax = (entriesBelow as LogIndex) - 1;
      skipped.add(file.seq);
      continue;
    }
    const readBefore = isNewest && newestRead !== undefined;
    const { data, contents } = readBefore ? newestRead : await readWhole(fs, dir, file, isNewest, segmentBuffer);
    // A segment larger than the buffer was read into a new one: the buffer from now on.
    if (!readBefore && data.buffer !== segmentBuffer?.buffer) segmentBuffer = data;
    if (contents.torn) torn = { name: file.name, ...contents.torn };
    else if (isNewest && contents.groups.length === 0) torn = { name: file.name, offset: 0, reason: 'an empty file', droppedBytes: 0 };
    else if (isNewest && contents.recordsEnd < data.length) unusedTail = { name: file.name, end: contents.recordsEnd };
    if (contents.groups.length === 0 && !isNewest) {
      throw new WalCorruptionError(
        `Cannot open WAL segment ${file.name}: the segment holds no complete write but newer segments follow; ${repairHint(0, true)}`,
        file.name,
        0,
      );
    }
    const segment = book.add(file.name, file.seq, file.firstIndex);
    for (const group of contents.groups) notePositions(entryReader, file.seq, group);
    for (const { offset, record } of contents.groups.flat()) {
      if (record.type === 'entry' && replay.keeps(record.entry.index)) book.noteEntry(segment, record.entry.index);
      if (record.type === 'restore') book.noteRestore();
      const problem = replay.apply(record);
      if (problem !== undefined) {
        throw new WalCorruptionError(
          `Cannot open WAL segment ${file.name}: record at offset ${offset}: ${problem}; ${repairHint(offset, !isNewest)}`,
          file.name,
          offset,
        );
      }
    }
    // The next segment is read into the same buffer.
    replay.detachFrom(data.buffer);
  }

  if (torn) await cutTornTail(fs, dir, torn, book, log);
  // The newest segment is closed by Wal.open's cut, with the rest of its preallocated
  // space unused: given back, or every start would leave a whole segment of zeros
  // behind, kept and read again by every later start (a node restarted 15 times held
  // 1 GiB of them and took 7 s to read them).
  if (unusedTail) await truncateDurably(fs, posix.join(dir, unusedTail.name), unusedTail.end);

  const replayed = replay.result();
  if (typeof replayed === 'string') throw new WalCorruptionError(`Cannot open WAL in ${dir}: ${replayed}; refusing to start`, undefined, undefined);
  // Replay decoded entries as views into each segment's bytes (most are spilled or
  // overwritten), and copied the ones it holds once a segment was done (detachFrom).
  return { state: replayed, book, entryReader, readable, skipped };
}

/** A segment's bytes and what they hold. */
async function readWhole(fs: FileSystem, dir: string, file: SegmentFile, isNewest: boolean, into?: Uint8Array) {
  const data = await fs.readFile(posix.join(dir, file.name), into);
  return { data, contents: readSegment(file, data, isNewest) };
}

/**
 * The WAL's snapshot marker as the newest segment leaves it: its header holds the marker
 * as it stood when the segment was cut, and every later one (a compaction, a restore)
 * is a record after it; markers only grow. 0 if it holds none.
 */
function finalSnapshotIndex(contents: SegmentContents): LogIndex {
  let index = 0;
  for (const { record } of contents.groups.flat()) if (record.type === 'snapshot' || record.type === 'restore') index = record.index;
  return index;
}

/**
 * Notes where a replayed write group's entries are (WalEntryReader.written), and its
 * restore, if it has one: entries are read back from the segments later.
 */
function notePositions(reader: WalEntryReader, seq: number, group: readonly LocatedRecord[]): void {
  let first: { offset: number; index: LogIndex } | undefined;
  let last: LogIndex = 0;
  let bytes = 0;
  for (const { offset, record } of group) {
    // A restore comes first in its group (Wal.save).
    if (record.type === 'restore') reader.restored(record.index);
    if (record.type !== 'entry') continue;
    first ??= { offset, index: record.entry.index };
    last = record.entry.index;
    bytes += record.entry.data.length;
  }
  if (first) reader.written(seq, first.offset, first.index, last, bytes);
}

/** The segment files in `dir`, oldest first; throws on a file with a segment's suffix but not its name, or a gap. */
async function listSegments(fs: FileSystem, dir: string): Promise<SegmentFile[]> {
  const found: SegmentFile[] = [];
  for (const name of await fs.list(dir)) {
    const parsed = parseSegmentName(name);
    if (parsed) found.push({ name, ...parsed });
    else if (name.endsWith('.wal'))
      throw new WalCorruptionError(`Cannot open WAL in ${dir}: unexpected file ${name} (not a segment name); refusing to start`, name, undefined);
  }
  found.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < found.length; i++) {
    const [prev, next] = [found[i - 1], found[i]] as [SegmentFile, SegmentFile];
    if (next.seq !== prev.seq + 1) {
      throw new WalCorruptionError(
        `Cannot open WAL in ${dir}: segments ${prev.seq + 1}..${next.seq - 1} are missing between ${prev.name} and ${next.name}; refusing to start`,
        next.name,
        undefined,
      );
    }
  }
  return found;
}

interface SegmentFile {
  readonly name: string;
  readonly seq: number;
  readonly firstIndex: LogIndex;
}

/** A write cut short at the end of the newest segment: from `offset` on. */
interface TornTail {
  readonly name: string;
  readonly offset: number;
  readonly reason: string;
  readonly droppedBytes: number;
}

/** Removes a torn tail: the whole segment if it holds no complete write, else the bytes from the tear on. */
async function cutTornTail(fs: FileSystem, dir: string, torn: TornTail, book: SegmentBook, log: (msg: string) => void): Promise<void> {
  const path = posix.join(dir, torn.name);
  if (torn.offset === 0) {
    log(`WAL segment ${torn.name}: removing it, it holds no complete write (${torn.reason}) — created just before a crash`);
    await fs.unlink(path);
    await fs.syncDir(dir);
    book.removeLast();
    return;
  }
  log(
    `WAL segment ${torn.name}: truncating a torn tail at offset ${torn.offset} (${torn.reason}; ${torn.droppedBytes} bytes dropped) — a write cut short by a crash, never acknowledged`,
  );
  // Durable before anything newer exists, or the tail could reappear behind a newer
  // segment and look like corruption.
  await truncateDurably(fs, path, torn.offset);
}

async function truncateDurably(fs: FileSystem, path: string, length: number): Promise<void> {
  const handle = await fs.open(path, 'write');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
