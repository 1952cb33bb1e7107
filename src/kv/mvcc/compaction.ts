/**
 * Physical compaction: after compact(C), each key keeps only its latest record at or
 * before C (dropped too if it is a tombstone) and everything after C. Reads below C
 * are refused as soon as compact(C) is applied (the store's compacted revision), so what
 * is left of the old history is invisible; removing it is only a matter of space.
 *
 * The work is proportional to what was written since the previous compaction, not to
 * the store: a finished compaction to C0 leaves at most one record at or before C0 per
 * key, the key's latest, so compact(C) only has to visit the records in (C0, C], in
 * revision order (the byRevision table). At each record r of key k it removes every
 * older record of k (superseded by r, which is at or before C), and r itself unless r is
 * k's latest at or before C and a put. Keys not written since C0 are not looked at. Each
 * visit reads keys only, except the one record it keeps or drops as k's latest, whose
 * first byte says whether it is a tombstone. Measured before this (every record at or
 * before C visited, each reading its key's latest value): a store of 300-500 MB
 * compacted every 64 MiB written held an apply batch for 0.5-0.85 s (ticks late).
 *
 * It runs in steps: the compact entry and each no-op after it (the store decides which
 * entries step, MvccStore's takesCompactionStep) visit at most `stepRecordsMax`
 * byRevision records, resuming where the previous step stopped. A large compaction
 * never stalls the apply loop for long, and since steps are tied to entries (not to how
 * a runtime batches them), every replica does the same work at the same index. A new compact(C') while one is running goes on from where it is with the new
 * target: the records visited so far were handled for the older target, and a record
 * that supersedes one of them at C' is newer than the cursor, so it is visited later
 * and removes it then. A store that applies no step does not progress; the next resumes it.
 */
import type { Table } from '../env/kv-env.js';
import { historyKey, readRevision, revisionOfHistoryKey } from '../codec/key-encoding.js';
import { isTombstone } from './record.js';
import { forgetLatestRevision, latestRevision } from './latest-index.js';
import { assert } from '../../lib/index.js';

export interface CompactionProgress {
  /** The revision being compacted to; 0 when nothing is pending. */
  readonly target: number;
  /** The last byRevision key visited, or undefined to start from the oldest. */
  readonly cursor: Uint8Array | undefined;
}

export const IDLE: CompactionProgress = { target: 0, cursor: undefined };

const SUB_REVISION_MAX = 0xffff_ffff;

type Tables = { readonly history: Table; readonly byRevision: Table; readonly latest: Table };

export const BY_REVISION_KEY_BYTES = 12;

/** byRevision key: main revision (8 bytes) then sub-revision (4 bytes), big-endian. */
export function byRevisionKey(main: number, sub: number): Buffer {
  return writeByRevisionKey(Buffer.allocUnsafe(BY_REVISION_KEY_BYTES), main, sub);
}

/** byRevisionKey written into `out` (BY_REVISION_KEY_BYTES long), which it returns. */
export function writeByRevisionKey(out: Buffer, main: number, sub: number): Buffer {
  out.writeUInt32BE(Math.floor(main / 0x1_0000_0000), 0);
  out.writeUInt32BE(main >>> 0, 4);
  out.writeUInt32BE(sub, 8);
  return out;
}

/**
 * The progress of a compact(target) applied while `progress` was pending, the store
 * having been compacted to `previous` before: a new compaction starts after the records
 * the previous one finished with; a running one goes on from its cursor.
 */
export function startCompaction(progress: CompactionProgress, previous: number, target: number): CompactionProgress {
  if (progress.target !== 0) return { target, cursor: progress.cursor };
  return { target, cursor: previous > 0 ? byRevisionKey(previous, SUB_REVISION_MAX) : undefined };
}

/** Visits up to `stepRecordsMax` byRevision records; returns the progress to store. */
export function compactStep(tables: Tables, progress: CompactionProgress, stepRecordsMax: number): CompactionProgress {
  if (progress.target === 0) return progress;
  const batch = [
    ...tables.byRevision.getRange({
      ...(progress.cursor ? { start: progress.cursor, exclusiveStart: true } : {}),
      end: byRevisionKey(progress.target + 1, 0),
      limit: stepRecordsMax,
    }),
  ];
  for (const { key: revisionKey, value: encodedKey } of batch) visit(tables, encodedKey, revisionKey, progress.target);
  if (batch.length < stepRecordsMax) return IDLE;
  return { target: progress.target, cursor: (batch[batch.length - 1] as { key: Buffer }).key };
}

/**
 * One byRevision record: `encodedKey` at the revision `revisionKey` names, at or before
 * `target`. Records are visited in revision order and a visit removes only the record
 * visited and older ones, so no record later in a step's batch is gone by its turn.
 */
function visit(tables: Tables, encodedKey: Buffer, revisionKey: Buffer, target: number): void {
  const revision = readRevision(revisionKey, 0);
  // One reverse scan of this key's history from `target` down (encoded keys are
  // prefix-free, so these bounds hold this key's records only): first its latest record
  // at or before the target, then on down to the visited one and the older ones.
  const records = tables.history.getKeys({ start: historyKey(encodedKey, target), end: historyKey(encodedKey, 0), reverse: true });
  let latest: number | undefined;
  let visited: Buffer | undefined;
  const older: Buffer[] = [];
  for (const recordKey of records) {
    const at = revisionOfHistoryKey(recordKey);
    latest ??= at;
    if (at === revision) visited = recordKey;
    else if (at < revision) older.push(recordKey);
  }
  assert(visited !== undefined, () => `compaction: no history record for revision ${revision}`);
  for (const recordKey of older) removeSuperseded(tables, encodedKey, recordKey);
  const keptAsLatest = latest === revision;
  if (keptAsLatest && !isTombstone(tables.history.getBinaryFast(visited) as Buffer)) return;
  removeRecord(tables, visited, revisionKey);
  // The key's latest at or before the target was a tombstone: if nothing came after it,
  // it was the key's last record, and the key has no history left.
  if (keptAsLatest && latestRevision(tables.latest, encodedKey) === revision) forgetLatestRevision(tables.latest, encodedKey);
}

/** A record older than one visited; its byRevision key holds a sub-revision, usually 0 (a write of one key). */
function removeSuperseded(tables: Tables, encodedKey: Buffer, recordKey: Buffer): void {
  const revision = revisionOfHistoryKey(recordKey);
  const first = byRevisionKey(revision, 0);
  if (tables.byRevision.getBinaryFast(first)?.equals(encodedKey)) return removeRecord(tables, recordKey, first);
  for (const { key: revisionKey, value } of tables.byRevision.getRange({ start: first, end: byRevisionKey(revision + 1, 0) })) {
    if (value.equals(encodedKey)) return removeRecord(tables, recordKey, revisionKey);
  }
  assert(false, () => `compaction: no byRevision record for the history record at revision ${revision}`);
}

function removeRecord(tables: Tables, recordKey: Buffer, revisionKey: Buffer): void {
  const removed = tables.history.removeSync(recordKey);
  assert(removed, () => `compaction: history record at revision ${revisionOfHistoryKey(recordKey)} missing`);
  tables.byRevision.removeSync(revisionKey);
}
