/**
 * A state machine snapshot rewritten to seed a NEW cluster (as etcdutl snapshot restore
 * does): the same key space, history and compaction state, at a log index of the new
 * cluster's choosing, without what belongs to the old cluster's life:
 *   - the applied index becomes `index` (the old one counts entries of another log);
 *   - the session table is emptied (its entries are keyed by the old log's indexes, and
 *     no client of the new cluster can be retrying a write of the old one);
 *   - alarms are cleared (they were raised by the old members, whose ids the new
 *     cluster may reuse; a new cluster starts without alarms, as etcd's restore does
 *     not carry members either).
 * Throws, naming the problem, if `data` is not a valid snapshot (checksum included).
 */
import type { LogIndex } from '../raft/index.js';
import { ByteWriter } from '../lib/index.js';
import { alarmFromMetaKey } from './alarms.js';
import { META, metaKey } from './mvcc/store-meta.js';
import { decodeSnapshot, encodeSnapshot } from './codec/snapshot-format.js';

const SESSION_TABLES = new Set(['sessions', 'session-lru']);

export function snapshotForNewCluster(data: Uint8Array, index: LogIndex): Uint8Array {
  const snapshot = decodeSnapshot(data);
  if (!snapshot.tables.has('meta') || !snapshot.tables.has('history')) {
    throw new Error(`Cannot restore key-value snapshot: it lacks the meta or history table (has ${[...snapshot.tables.keys()].join(', ')})`);
  }
  const appliedKey = metaKey(META.applied);
  const tables = [...snapshot.tables].map(([name, entries]) => {
    if (SESSION_TABLES.has(name)) return { name, entries: [] };
    if (name !== 'meta') return { name, entries: entries.map(([key, value]) => ({ key, value })) };
    const meta = entries
      .filter(([key]) => alarmFromMetaKey(key) === undefined)
      .map(([key, value]) => ({ key, value: appliedKey.equals(key) ? new ByteWriter(10).varint(index).finish() : value }));
    return { name, entries: meta };
  });
  return encodeSnapshot(index, tables);
}
