/**
 * Physical compaction: after compact(C), each key keeps only its latest record at or
 * before C (dropped too if it is a tombstone) and everything after C. Reads below C
 * are refused as soon as compact(C) is applied (the store's compacted revision), so what
 * is left of the old history is invisible; removing it is only a matter of space.
 *
 * So the removal runs in steps: every applied entry (whatever its command) examines at
 * most `stepRecordsMax` records of the byRevision table in revision order, resuming
 * where the previous step stopped. A large compaction never stalls the apply loop for
 * long, and since steps are tied to entries (not to how a runtime batches them), every
 * replica does the same work at the same index. A new compact(C') while one is running
 * starts over from the oldest revision (records kept for C may be superseded at C').
 * An idle store does not progress; the next entry resumes it.
 */
import type { Table } from '../env/kv-env.js';
import { historyKey, readRevision } from '../codec/key-encoding.js';
import type { MvccReader } from './mvcc-reader.js';
import { isTombstone } from './record.js';
import { assert } from '../../lib/index.js';

export interface CompactionProgress {
  /** The revision being compacted to; 0 when nothing is pending. */
  readonly target: number;
  /** The last byRevision key examined, or undefined to start from the oldest. */
  readonly cursor: Uint8Array | undefined;
}

export const IDLE: CompactionProgress = { target: 0, cursor: undefined };

/** byRevision key: main revision (8 bytes) then sub-revision (4 bytes), big-endian. */
export function byRevisionKey(main: number, sub: number): Buffer {
  const out = Buffer.allocUnsafe(12);
  out.writeUInt32BE(Math.floor(main / 0x1_0000_0000), 0);
  out.writeUInt32BE(main >>> 0, 4);
  out.writeUInt32BE(sub, 8);
  return out;
}

/** Does up to `stepRecordsMax` records of work; returns the progress to store. */
export function compactStep(
  tables: { readonly history: Table; readonly byRevision: Table },
  reader: MvccReader,
  progress: CompactionProgress,
  stepRecordsMax: number,
): CompactionProgress {
  if (progress.target === 0) return progress;
  const end = byRevisionKey(progress.target + 1, 0);
  const batch = [
    ...tables.byRevision.getRange({
      ...(progress.cursor ? { start: progress.cursor, exclusiveStart: true } : {}),
      end,
      limit: stepRecordsMax,
    }),
  ];
  for (const { key: revisionKey, value: encodedKey } of batch) {
    const modRevision = readRevision(revisionKey, 0);
    const latest = reader.latest(encodedKey, progress.target);
    assert(latest !== undefined, () => `compaction: no history record for revision ${modRevision}`);
    if (latest.modRevision !== modRevision || isTombstone(latest.data)) {
      const removed = tables.history.removeSync(historyKey(encodedKey, modRevision));
      assert(removed, () => `compaction: history record at revision ${modRevision} missing`);
      tables.byRevision.removeSync(revisionKey);
    }
  }
  if (batch.length < stepRecordsMax) return IDLE;
  return { target: progress.target, cursor: (batch[batch.length - 1] as { key: Buffer }).key };
}
