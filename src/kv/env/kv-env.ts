/**
 * The storage seam under the MVCC store: named tables of byte keys and byte values in
 * key order, written in all-or-nothing transactions, with a way to make what is
 * committed durable. Two implementations: LMDB (lmdb-env.ts), which the node runs on,
 * and memory (memory-env.ts), which the deterministic simulator runs on and which
 * models a crash by keeping only what was synced. The store's code (mvcc-store.ts and
 * everything it calls) sees only this interface.
 *
 * The tables (all with byte keys and byte values):
 *
 *   meta        name (ASCII) -> varint   applied index, revision, compaction state, clock
 *   history     enc(key) ‖ revision -> record   every kept version of every key (record.ts)
 *   byRevision  revision ‖ sub -> enc(key)     the same changes in revision order: drives
 *                                              compaction, and later watches from a revision
 *   sessions    clientId -> session            exactly-once table (sessions.ts)
 *   sessionLru  lastIndex -> clientId          sessions by last use, oldest first
 *   leases      id -> ttl renewedIndex         granted leases (lease-table.ts)
 *   leaseKeys   id ‖ key -> (empty)            the keys attached to each lease
 *   auth        name -> value                  users, roles, enabled flag (auth-table.ts)
 *
 * And one derived from them, kept in the same transactions but in no snapshot (each
 * node builds its own: latest-index.ts):
 *
 *   latest      enc(key) -> revision           the revision of each key's newest record
 */

export interface TableRange {
  readonly start?: Uint8Array;
  readonly end?: Uint8Array;
  readonly exclusiveStart?: boolean;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/**
 * One table, keys in byte order (lmdb-js's database API, typed for bytes). Values and
 * keys returned are fresh Buffers the caller may keep. Forward ranges go from `start`
 * (inclusive unless `exclusiveStart`) up to `end` (exclusive); reverse ranges start at
 * `start` (inclusive) and go down to `end` (exclusive). Callers give the end of a
 * reverse range and the start an exclusiveStart excludes: lmdb-js's defaults there
 * leave out the key 0x00. A write outside KvEnv.transactionSync is a transaction of
 * its own.
 */
export interface Table {
  get(key: Uint8Array): Buffer | undefined;
  /** The value without a copy of its own: valid only until the next read of any table, for a look that keeps nothing. */
  getBinaryFast(key: Uint8Array): Buffer | undefined;
  /** Copies `key` and `value` before it returns: the caller may use their buffers again at once. */
  putSync(key: Uint8Array, value: Uint8Array): void;
  removeSync(key: Uint8Array): boolean;
  clearSync(): void;
  getCount(): number;
  getRange(options?: TableRange): Iterable<{ key: Buffer; value: Buffer }>;
  /** The keys of getRange, without reading (or copying) their values. */
  getKeys(options?: TableRange): Iterable<Buffer>;
}

export interface EnvSizes {
  /** Bytes of the store's file up to its last used page: what the storage quota counts (etcd's dbSize). */
  readonly dbSize: number;
  /** Bytes of the pages the tables use, free pages left out (etcd's dbSizeInUse, approximately). */
  readonly dbSizeInUse: number;
}

/** A compacted copy of an environment's tables (KvEnv.copyCompacted), not yet in its place. */
export interface CompactedCopy {
  /**
   * Opens the copy as an environment of its own, for the caller to apply to it what was
   * committed after the copy was taken, while this environment goes on; closed (and
   * synced, which closing this one need not do) before swapIn().
   */
  open(): KvEnv;
  /**
   * Closes the environment, puts the copy in its place, durably, and resolves to the
   * environment reopened on it: the data as of the copy; commits made after the copy was
   * taken are not in it (the caller applies them again). The caller keeps every other
   * call away until then.
   */
  swapIn(): Promise<KvEnv>;
  /** Removes the copy; the environment goes on as it was. */
  discard(): Promise<void>;
}

export interface KvEnv {
  readonly meta: Table;
  readonly history: Table;
  readonly byRevision: Table;
  readonly sessions: Table;
  readonly sessionLru: Table;
  readonly leases: Table;
  readonly leaseKeys: Table;
  readonly auth: Table;
  readonly latest: Table;
  /**
   * The environment opened empty because what was there could not be trusted (LMDB's
   * deferred sync after a system crash, unsynced-marker.ts): the runtime must rebuild
   * the store from its snapshot and log.
   */
  readonly discardedOnOpen: boolean;
  /**
   * Runs `action` as one write transaction: if it throws, none of its writes happened
   * (and the error is rethrown); reads inside it see its own writes.
   */
  transactionSync(action: () => void): void;
  /** Resolves once everything committed is durable: it survives a crash. */
  sync(): Promise<void>;
  /** Syncs as a clean shutdown does, then closes; the environment is unusable after. */
  close(): Promise<void>;
  sizes(): EnvSizes;
  /** sizes().dbSize alone, cheaper. */
  fileSize(): number;
  /**
   * The first step of giving the file's free space back (defragment.ts): writes a
   * compacted copy of the tables as they are now, while this environment stays open for
   * reads and commits.
   */
  copyCompacted(): Promise<CompactedCopy>;
  /**
   * A stable view of every snapshot table as of now, which later commits do not change,
   * for a snapshot copied a slice at a time while applies go on
   * (MvccStore.openSnapshotStream). The tables in TABLES order. Always ended with
   * done(): while it is open, LMDB keeps the pages it sees (the file grows instead of
   * reusing them).
   */
  readView(): ReadView;
  /**
   * A snapshot of the store as of now, read out and encoded off the event loop (a worker
   * thread, snapshot-worker.ts), where the environment can be opened there and the store
   * is large enough for it to pay; undefined otherwise (always in memory-env.ts), and
   * the caller reads readView() itself.
   */
  streamSnapshotApart?(): Promise<SnapshotStream> | undefined;
}

/** A snapshot of the store being read out, chunk by chunk (MvccStore.openSnapshotStream). */
export interface SnapshotStream {
  /** The applied index the snapshot is taken at. */
  readonly index: number;
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Releases the read view (or the worker) if the chunks were not read to their end. */
  close(): void;
}

export interface ReadView {
  readonly tables: readonly (readonly [name: string, entries: Iterable<{ readonly key: Uint8Array; readonly value: Uint8Array }>])[];
  done(): void;
}

export type TableField = 'meta' | 'history' | 'byRevision' | 'sessions' | 'sessionLru' | 'leases' | 'leaseKeys' | 'auth' | 'latest';

/** Every snapshot table's name (as stored and in snapshots) and field, in the order snapshots list them. */
export const TABLES: readonly (readonly [name: string, field: TableField])[] = [
  ['meta', 'meta'],
  ['history', 'history'],
  ['by-revision', 'byRevision'],
  ['sessions', 'sessions'],
  ['session-lru', 'sessionLru'],
  ['leases', 'leases'],
  ['lease-keys', 'leaseKeys'],
  ['auth', 'auth'],
];

/** Tables derived from the others: stored and copied by a defragmentation, never in a snapshot. */
export const DERIVED_TABLES: readonly (readonly [name: string, field: TableField])[] = [['latest', 'latest']];

/** Every table an environment stores: the snapshot tables, then the derived ones. */
export const STORED_TABLES: readonly (readonly [name: string, field: TableField])[] = [...TABLES, ...DERIVED_TABLES];

/** Every snapshot table of `env` with its name, in the order snapshots list them. */
export function tablesOf(env: KvEnv): readonly (readonly [string, Table])[] {
  return TABLES.map(([name, field]) => [name, env[field]] as const);
}

/** Tables added after the snapshot format: a snapshot without one restores it empty. */
export const LATER_TABLES: ReadonlySet<string> = new Set(['auth']);
