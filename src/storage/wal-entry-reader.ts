/**
 * Reads log entries back from the WAL's segments: the Raft core releases applied
 * entries from memory (RaftConfig.logMemoryBytesMax) and asks for them again when a
 * follower behind needs them, or when it applies after a start that left them on disk.
 *
 * Where entries are is kept sparsely: a position (index, segment, offset) starts a
 * run of live entries that follow one another in the file (other records between
 * them), up to the next position's index. A new position begins at every segment, at
 * every write that overwrites entries (a truncation, §5.3: the entries it replaces
 * come before it in the file, so a run never meets them before its own), and every
 * `positionSpacingBytes` of entries, so a read scans at most that much before what it
 * wants, and a million entries cost a few thousand positions.
 *
 * Reads are synchronous (LogReader): the core has no I/O of its own, and such reads
 * are rare and mostly served from the page cache. Each record is checked (its
 * checksum), and an entry not where the positions say is corruption.
 */
import type { Entry, LogIndex, LogReader } from '../raft/index.js';
import { entryBytes, pastLimits } from '../raft/index.js';
import { DecodeError } from '../lib/index.js';
import { WalCorruptionError } from './errors.js';
import type { FileHandle } from './file-system.js';
import { recordAt } from './record-codec.js';
import { decodeWalRecord } from './wal-records.js';

const positionSpacingBytes = 256 * 1024;
/** Bytes read from a segment at a time. */
const windowBytes = 256 * 1024;

interface Position {
  readonly index: LogIndex;
  readonly seq: number;
  readonly offset: number;
}

/** A segment's file, open for reading. */
export interface ReadableSegment {
  readonly name: string;
  readonly handle: FileHandle;
}

export class WalEntryReader implements LogReader {
  private positions: Position[] = [];
  /** The last entry written, where, and the entry bytes since the newest position. */
  private lastIndex: LogIndex = 0;
  private lastSeq = 0;
  private bytesSincePosition = 0;

  constructor(private readonly segment: (seq: number) => ReadableSegment | undefined) {}

  /** A write group holding entries [first, last] (`bytes` of them) starts at `offset` of segment `seq`. */
  written(seq: number, offset: number, first: LogIndex, last: LogIndex, bytes: number): void {
    while (this.positions.length > 0 && (this.positions[this.positions.length - 1] as Position).index >= first) this.positions.pop();
    const continues = this.positions.length > 0 && seq === this.lastSeq && first === this.lastIndex + 1 && this.bytesSincePosition < positionSpacingBytes;
    if (!continues) {
      this.positions.push({ index: first, seq, offset });
      this.bytesSincePosition = 0;
    }
    this.bytesSincePosition += bytes;
    this.lastIndex = last;
    this.lastSeq = seq;
  }

  /** The log was replaced by a snapshot at `index` (a restore): no earlier entry can be asked for. */
  restored(index: LogIndex): void {
    this.positions = [];
    this.lastIndex = index;
  }

  /** Entries up to `index` will not be asked for again (their segments may go). */
  forgetThrough(index: LogIndex): void {
    let drop = 0;
    while (drop + 1 < this.positions.length && (this.positions[drop + 1] as Position).index <= index + 1) drop++;
    if (drop > 0) this.positions = this.positions.slice(drop);
  }

  read(low: LogIndex, high: LogIndex, limits: { readonly bytesMax: number; readonly countMax: number }): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    let wanted = low;
    while (wanted < high) {
      const at = this.locate(wanted);
      const position = this.positions[at] as Position;
      const runEnd = Math.min(high, (this.positions[at + 1] as Position | undefined)?.index ?? high);
      for (const entry of this.scan(position, wanted, runEnd)) {
        bytes += entryBytes(entry);
        if (pastLimits(out.length, bytes, limits)) return out;
        out.push(entry);
      }
      wanted = runEnd;
    }
    return out;
  }

  /** The position whose run holds `index`. */
  private locate(index: LogIndex): number {
    let low = 0;
    let high = this.positions.length - 1;
    if (high < 0 || (this.positions[0] as Position).index > index) throw new RangeError(`entry ${index} is not in the WAL's positions`);
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.positions[middle] as Position).index <= index) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** The entries [from, to) of the run that starts at `position`, read in order. */
  private *scan(position: Position, from: LogIndex, to: LogIndex): Generator<Entry> {
    const segment = this.segment(position.seq);
    if (!segment) throw new RangeError(`entry ${from}: WAL segment ${position.seq} is not open`);
    let wanted = from;
    let window: Uint8Array = new Uint8Array(0);
    let windowStart = position.offset;
    let offset = position.offset;
    const corrupt = (problem: string): never => {
      throw new WalCorruptionError(`Cannot read entry ${wanted} back from WAL segment ${segment.name}: ${problem}`, segment.name, offset);
    };
    while (wanted < to) {
      let found = recordAt(window, offset - windowStart);
      if (!found.ok) {
        // Past the window's end (or a record cut by it): read on from this record.
        window = segment.handle.readSync(offset, windowBytes);
        windowStart = offset;
        found = recordAt(window, 0);
        if (!found.ok && found.needBytes !== undefined) {
          window = segment.handle.readSync(offset, found.needBytes);
          found = recordAt(window, 0);
        }
        if (!found.ok) return corrupt(`no valid record at offset ${offset} (${found.reason})`);
      }
      const raw = found.record;
      offset = windowStart + raw.end;
      let record: ReturnType<typeof decodeWalRecord>;
      try {
        record = decodeWalRecord(raw);
      } catch (error) {
        if (error instanceof DecodeError) return corrupt(`a malformed record (${error.message})`);
        throw error;
      }
      if (record.type !== 'entry' || record.entry.index < wanted) continue;
      if (record.entry.index > wanted) return corrupt(`found entry ${record.entry.index} where entry ${wanted} should be`);
      // Its data is a copy (ByteReader.raw), not a view that would keep the window alive.
      yield record.entry;
      wanted++;
    }
  }
}
