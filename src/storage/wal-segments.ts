/**
 * Segment file names and the bookkeeping that decides which segments compaction
 * may delete.
 *
 * Name: `<seq>-<firstIndex>.wal`, both zero-padded to 16 decimal digits so that
 * names sort in order and a directory listing reads naturally. `seq` counts
 * segments from 1 with no gaps (a gap means a lost file); `firstIndex` is the index
 * the next entry had when the segment was created.
 */
import type { LogIndex } from '../raft/index.js';

const namePattern = /^(\d{16})-(\d{16})\.wal$/;

export function segmentName(seq: number, firstIndex: LogIndex): string {
  return `${String(seq).padStart(16, '0')}-${String(firstIndex).padStart(16, '0')}.wal`;
}

/** The seq and firstIndex of a segment file name, or undefined if it is not one. */
export function parseSegmentName(name: string): { seq: number; firstIndex: LogIndex } | undefined {
  const match = namePattern.exec(name);
  if (!match) return undefined;
  return { seq: Number(match[1]), firstIndex: Number(match[2]) };
}

export interface Segment {
  readonly name: string;
  readonly seq: number;
  readonly firstIndex: LogIndex;
  /** The highest index of an entry in this segment that is still part of the log
   * (not overwritten by a later entry, not voided by a restore); 0 if none. */
  liveMax: LogIndex;
}

/**
 * The segments, oldest first. Compaction deletes only an oldest-first run of
 * segments (never the one being written), so what remains is always a suffix of
 * the history and replays to the same state; the newest segment starts with a copy
 * of the hard state and snapshot marker, so deleting older ones loses neither.
 */
export class SegmentBook {
  private readonly list: Segment[] = [];

  get segments(): readonly Segment[] {
    return this.list;
  }

  get current(): Segment | undefined {
    return this.list[this.list.length - 1];
  }

  add(name: string, seq: number, firstIndex: LogIndex): Segment {
    const segment: Segment = { name, seq, firstIndex, liveMax: 0 };
    this.list.push(segment);
    return segment;
  }

  /** An entry at `index` was written to `segment`: it voids every entry >= index. */
  noteEntry(segment: Segment, index: LogIndex): void {
    for (const s of this.list) if (s.liveMax >= index) s.liveMax = index - 1;
    segment.liveMax = Math.max(segment.liveMax, index);
  }

  /** The log was replaced by a snapshot: no older entry is live any more. */
  noteRestore(): void {
    for (const s of this.list) s.liveMax = 0;
  }

  /** The oldest segments, never the current one, whose live entries are all <= `index`. */
  deletableUpTo(index: LogIndex): Segment[] {
    const out: Segment[] = [];
    for (const s of this.list.slice(0, -1)) {
      if (s.liveMax > index) break;
      out.push(s);
    }
    return out;
  }

  remove(segments: readonly Segment[]): void {
    for (const s of segments) this.list.splice(this.list.indexOf(s), 1);
  }

  removeLast(): void {
    this.list.pop();
  }
}
