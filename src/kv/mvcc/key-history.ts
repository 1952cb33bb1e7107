/**
 * A key's version history: every record of one key still in the MVCC history, puts and
 * deletions (tombstones), newest or oldest first. Keel's addition to etcd's data model
 * (etcd answers the same question only by replaying a watch from a revision).
 *
 * Efficient from the key encoding (key-encoding.ts): all revisions of a key sit in one
 * contiguous run of the history table, ordered by revision, so a page of history is one
 * bounded LMDB range scan, forward or reverse, that never touches another key.
 *
 * What "still in the history" means does not depend on how far physical compaction
 * (compaction.ts, which runs in steps) has got: after compact(C) a read at C sees the
 * key's latest record at or before C, and nothing older, so the history is that record
 * (unless it is a tombstone, which compaction drops) followed by every record after C.
 */
import type { Table } from '../env/kv-env.js';
import { encodeKey, historyKey, readRevision, REVISION_BYTES } from '../codec/key-encoding.js';
import type { MvccReader } from './mvcc-reader.js';
import { decodeRecord, toKeyValue, type PutRecord } from './record.js';
import type { HistoryRequest, KeyVersion } from '../types.js';

export interface HistoryPage {
  readonly versions: readonly KeyVersion[];
  /** True when `limit` cut the list. */
  readonly more: boolean;
}

/**
 * Versions of `request.key` with minRevision <= modRevision <= `upTo`, the store being
 * compacted up to `compacted`. Revisions are already checked against both bounds.
 */
export function readKeyHistory(history: Table, reader: MvccReader, request: HistoryRequest, upTo: number, compacted: number): HistoryPage {
  const encoded = encodeKey(request.key);
  const limit = request.limit ?? 0;
  const wanted = limit > 0 ? limit + 1 : undefined;
  const lowest = Math.max(request.minRevision ?? 0, compacted + 1);
  const descending = request.order !== 'ascend';
  const found: KeyVersion[] = [];
  const floor = compacted > 0 ? reader.latest(encoded, compacted) : undefined;
  const floorVersion = floor && floor.modRevision >= (request.minRevision ?? 0) ? toVersion(request.key, floor.modRevision, floor.data) : undefined;
  const keepFloor = floorVersion !== undefined && floorVersion.type === 'put';
  if (!descending && keepFloor) found.push(floorVersion);
  if (lowest <= upTo) {
    const range = descending
      ? { start: historyKey(encoded, upTo), end: historyKey(encoded, lowest - 1), reverse: true }
      : { start: historyKey(encoded, lowest), end: historyKey(encoded, upTo + 1) };
    const remaining = wanted === undefined ? undefined : wanted - found.length;
    for (const { key, value } of history.getRange({ ...range, ...(remaining === undefined ? {} : { limit: remaining }) })) {
      found.push(toVersion(request.key, readRevision(key, key.length - REVISION_BYTES), value));
    }
  }
  if (descending && keepFloor) found.push(floorVersion);
  const more = wanted !== undefined && found.length >= wanted;
  return { versions: more ? found.slice(0, limit) : found, more };
}

function toVersion(key: Uint8Array, modRevision: number, data: Uint8Array): KeyVersion {
  const record = decodeRecord(data);
  if (record.tombstone) return { type: 'delete', modRevision };
  return { type: 'put', kv: toKeyValue(key, modRevision, record as PutRecord) };
}
