/**
 * The latest index: for each key in the history table, the revision of its newest
 * record (a put or a tombstone), in a table of its own (kv-env.ts: `latest`). A put must
 * read the record it replaces (create revision, version, lease), and a read at the
 * current revision wants the same record. Found through the history table, that is a
 * reverse range seek: in lmdb-js a range iterator and, inside a write transaction, a new
 * native cursor per lookup, whose objects outlive young-generation collections. It was
 * about 40% of the CPU of applying a 256-byte put. Through this table it is two point
 * reads (mdb_get), no cursor. etcd keeps the same index in memory (its treeIndex); here
 * it stays on disk, so memory does not grow with the number of keys.
 *
 * The index is derived data: written in the same transactions as the history it
 * describes (write-executor.ts, compaction.ts), left out of snapshots, and rebuilt from
 * the history when a node restores a snapshot or finds the index not kept up to date.
 * That is known by the meta table's `latest-applied`, written with the applied index by
 * every apply: a store applied by a build that did not keep the index has an applied
 * index past it (or no such entry), and is rebuilt at open.
 */
import type { Table } from '../env/kv-env.js';
import { encodedKeyLength, readRevision, REVISION_BYTES, revisionOfHistoryKey, writeRevision } from '../codec/key-encoding.js';

/** The revision of the newest record of `encodedKey`, or undefined for a key with no history. */
export function latestRevision(latest: Table, encodedKey: Uint8Array): number | undefined {
  const value = latest.getBinaryFast(encodedKey);
  return value === undefined ? undefined : readRevision(value, 0);
}

/** The value setLatestRevision writes, used again: putSync copies it before it returns (Table.putSync). */
const revisionValue = Buffer.alloc(REVISION_BYTES);

/** `revision` is now the newest record of `encodedKey`. */
export function setLatestRevision(latest: Table, encodedKey: Uint8Array, revision: number): void {
  writeRevision(revisionValue, 0, revision);
  latest.putSync(encodedKey, revisionValue);
}

/** `encodedKey` has no history left (compaction removed its last record, a tombstone). */
export function forgetLatestRevision(latest: Table, encodedKey: Uint8Array): void {
  latest.removeSync(encodedKey);
}

/**
 * Records a history key being written where history keys arrive in key order (a
 * snapshot's restore), each later one of a key being newer: the last one written wins.
 */
export function noteHistoryKey(latest: Table, historyKeyBytes: Uint8Array): void {
  setLatestRevision(latest, historyKeyBytes.subarray(0, encodedKeyLength(historyKeyBytes)), revisionOfHistoryKey(historyKeyBytes));
}

/** Builds the index anew from the history table: one scan of its keys, in key order. Inside a write transaction. */
export function rebuildLatestIndex(history: Table, latest: Table): void {
  latest.clearSync();
  let previous: Buffer | undefined;
  for (const key of history.getKeys({})) {
    if (previous !== undefined && !sameKey(previous, key)) noteHistoryKey(latest, previous);
    previous = key;
  }
  if (previous !== undefined) noteHistoryKey(latest, previous);
}

function sameKey(a: Buffer, b: Buffer): boolean {
  const length = a.length - REVISION_BYTES;
  return b.length - REVISION_BYTES === length && a.compare(b, 0, length, 0, length) === 0;
}

/** What the latest index gets wrong against the history table, or undefined (reads both whole: for tests and diagnostics). */
export function latestIndexProblem(history: Table, latest: Table): string | undefined {
  const expected = new Map<string, number>();
  for (const key of history.getKeys({})) {
    expected.set(key.subarray(0, encodedKeyLength(key)).toString('hex'), revisionOfHistoryKey(key));
  }
  let entries = 0;
  for (const { key, value } of latest.getRange({})) {
    entries++;
    const revision = readRevision(value, 0);
    const want = expected.get(key.toString('hex'));
    if (want !== revision) return `the latest index gives key ${key.toString('hex')} revision ${revision}, its history ${want ?? 'nothing'}`;
  }
  return entries === expected.size ? undefined : `the latest index holds ${entries} keys, the history ${expected.size}`;
}
