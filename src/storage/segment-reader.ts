/**
 * Reads one WAL segment into complete write groups, and decides what its damage
 * means (see wal-recovery.ts for why):
 *   - a bad record followed by valid records: corruption;
 *   - a bad record, or a write group missing its commit record, at the end of an
 *     older segment: corruption (that segment was complete and synced before the
 *     next one was created);
 *   - the same at the end of the newest segment: a torn tail, to truncate at the
 *     start of the incomplete group.
 * Corruption is thrown as WalCorruptionError naming the file and offset.
 */
import { DecodeError } from '../lib/index.js';
import { WalCorruptionError } from './errors.js';
import { scanRecords } from './record-codec.js';
import type { WalRecord } from './wal-records.js';
import { decodeWalRecord } from './wal-records.js';

export interface LocatedRecord {
  readonly offset: number;
  readonly record: WalRecord;
}

export interface SegmentContents {
  /** Complete write groups in order, each without its commit record; the first holds the segment header. */
  readonly groups: LocatedRecord[][];
  /** Set when the newest segment ends in a write cut short by a crash. */
  readonly torn: { readonly offset: number; readonly reason: string; readonly droppedBytes: number } | undefined;
  /** Where the records end when not torn: past it the file holds only preallocated zeros. */
  readonly recordsEnd: number;
}

export function repairHint(offset: number, andNewer: boolean): string {
  return `refusing to start — run keel repair to truncate after offset ${offset}${andNewer ? ' and remove the newer segments' : ''} if you accept losing the rest`;
}

export function readSegment(file: { name: string; seq: number; firstIndex: number }, data: Uint8Array, isNewest: boolean): SegmentContents {
  const corrupt = (offset: number, problem: string): never => {
    throw new WalCorruptionError(`Cannot open WAL segment ${file.name}: ${problem}; ${repairHint(offset, !isNewest)}`, file.name, offset);
  };
  const scan = scanRecords(data);
  const bad = scan.bad;
  if (bad) {
    if (bad.nextValidOffset !== undefined) {
      corrupt(bad.offset, `bad record at offset ${bad.offset} (${bad.reason}) followed by valid records (next at offset ${bad.nextValidOffset})`);
    }
    if (!isNewest)
      corrupt(bad.offset, `bad record at offset ${bad.offset} (${bad.reason}) in a segment that is not the newest, so it was once complete and durable`);
  }

  const groups: LocatedRecord[][] = [];
  let pending: LocatedRecord[] = [];
  for (const raw of scan.records) {
    let record: WalRecord;
    try {
      record = decodeWalRecord(raw, 'view');
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      return corrupt(raw.offset, `record at offset ${raw.offset} is malformed (${error.message})`);
    }
    if (raw.offset === 0) {
      if (record.type !== 'segment') corrupt(0, `expected a segment header at offset 0, found a ${record.type} record`);
      else if (record.seq !== file.seq || record.firstIndex !== file.firstIndex) {
        corrupt(
          0,
          `the header says seq ${record.seq}, first index ${record.firstIndex}, but the file is named for seq ${file.seq}, first index ${file.firstIndex}`,
        );
      }
    } else if (record.type === 'segment') {
      corrupt(raw.offset, `a second segment header at offset ${raw.offset}`);
    }
    if (record.type === 'commit') {
      if (record.count !== pending.length)
        corrupt(raw.offset, `the commit record at offset ${raw.offset} seals ${record.count} records, but its group has ${pending.length}`);
      groups.push(pending);
      pending = [];
    } else {
      pending.push({ offset: raw.offset, record });
    }
  }

  const unsealed = pending[0];
  if (unsealed && !isNewest) {
    corrupt(unsealed.offset, `the write at offset ${unsealed.offset} has no commit record, in a segment that is not the newest`);
  }
  if (!unsealed && !bad) return { groups, torn: undefined, recordsEnd: scan.goodBytes };
  const offset = unsealed ? unsealed.offset : (bad?.offset as number);
  const parts: string[] = [];
  if (unsealed) parts.push(`a write of ${pending.length} complete record${pending.length === 1 ? '' : 's'} without its commit record`);
  if (bad) parts.push(unsealed ? `then ${bad.reason} at offset ${bad.offset}` : bad.reason);
  return { groups, torn: { offset, reason: parts.join(', '), droppedBytes: dataEnd(data) - offset }, recordsEnd: offset };
}

/** Where the written bytes end: past it the file holds only preallocated zeros. */
export function dataEnd(data: Uint8Array): number {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return end;
}
