/**
 * `keel snapshot restore`: a data directory for one member of a NEW cluster, seeded
 * with a snapshot saved from another (etcdutl snapshot restore does the same for etcd).
 *
 * Every member of the new cluster is restored from the same file with the same member
 * list. Each directory then holds:
 *   - raft/snap: a Raft snapshot at index 1, term 1, whose configuration is the new
 *     members (all voters) and whose data is the saved store rewritten for the new
 *     cluster (kv/new-cluster-snapshot.ts: applied index 1, no sessions, no alarms);
 *   - raft/wal: the record of that snapshot and the hard state {term 1, commit 1};
 *   - kv: the store restored from that data, so the node need not restore at start.
 * A node started on it finds the snapshot, takes its configuration over any
 * `--members` bootstrap list, elects a leader among the new members and carries on
 * from the saved revision. The old cluster's log, members and sessions are gone.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeId } from '../raft/index.js';
import { RaftStorage, NodeFileSystem } from '../storage/index.js';
import { MvccStore, snapshotForNewCluster } from '../kv/index.js';

export interface RestoreOptions {
  /** The bytes `keel snapshot save` wrote. */
  readonly snapshot: Uint8Array;
  /** Must not exist, or be empty. */
  readonly dataDir: string;
  readonly id: NodeId;
  /** Every member of the new cluster (ids), this one included. */
  readonly memberIds: readonly NodeId[];
}

export interface RestoreResult {
  readonly revision: number;
  readonly compactedRevision: number;
  readonly keys: number;
}

/** The log index and term the new cluster's history starts from. */
const SEED_INDEX = 1;
const SEED_TERM = 1;

export async function restoreDataDir(options: RestoreOptions): Promise<RestoreResult> {
  const { dataDir, id, memberIds } = options;
  if (!memberIds.includes(id)) throw new Error(`--id ${id} is not one of the members (${memberIds.join(', ')})`);
  if (new Set(memberIds).size !== memberIds.length) throw new Error('every member id must be unique');
  const existing = await readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (existing.length > 0) throw new Error(`data directory ${dataDir} is not empty; restore creates a new one`);
  // Checks the checksum and the format before anything is written.
  const data = snapshotForNewCluster(options.snapshot, SEED_INDEX);

  const store = MvccStore.open({ path: join(dataDir, 'kv'), sync: 'full' });
  let result: RestoreResult;
  try {
    store.restore(SEED_INDEX, data);
    const all = store.range({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), countOnly: true });
    result = { revision: store.currentRevision(), compactedRevision: store.compactedRevision(), keys: all.ok ? all.value.count : 0 };
    await store.flush();
  } finally {
    await store.close();
  }

  const { storage } = await RaftStorage.open({ fs: new NodeFileSystem(), dir: join(dataDir, 'raft'), log: () => undefined });
  try {
    await storage.saveReady({
      snapshot: { meta: { index: SEED_INDEX, term: SEED_TERM, config: { voters: [...memberIds], learners: [] } }, data },
      hardState: { term: SEED_TERM, vote: 0, commit: SEED_INDEX },
      entries: [],
    });
  } finally {
    await storage.close();
  }
  return result;
}
