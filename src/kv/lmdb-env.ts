/**
 * The LMDB environment behind the store and its tables (named databases, all with byte
 * keys and byte values):
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
 * Durability. The Raft log is the source of truth: an entry is applied only once it is
 * committed, and committed entries are in the fsynced WAL; on restart the runtime
 * replays the entries after appliedIndex() (and restores the last snapshot first if
 * appliedIndex() is older than it). The store therefore does not need each commit to be
 * durable when it returns, only that a crash never leaves LMDB corrupt and that the
 * applied index is stored in the same transaction as the data. Sync modes:
 *   - 'relaxed' (the default): MDB_NOMETASYNC. Each commit fsyncs the data pages but not
 *     the meta page; a system crash may undo the last transactions, never corrupt the
 *     file (LMDB keeps ACI, loses only D). Replay covers what was undone.
 *   - 'deferred' (the node's): MDB_NOSYNC, with a marker (unsynced-marker.ts) that
 *     tells at the next open whether a system crash may have torn the file since the
 *     last synced close; if so the store opens empty and the runtime rebuilds it from
 *     its durable snapshot and WAL. A commit then costs no fsync on the event loop
 *     (measured: about 0.6 ms of a 2.4 ms put with one client). Needs a boot id
 *     (Linux); without one MvccStore opens 'relaxed' instead.
 *   - 'full': LMDB's default, both fsynced at each commit; for a store used without a log.
 *   - 'none': MDB_NOSYNC, no fsync at all: a system crash (not a process crash) can
 *     corrupt the file. Only for tests, simulations and benchmarks.
 * A runtime that truncates its log must first hold a durable snapshot (snapshot()) at
 * or past the truncation point, or call flush() and truncate at most to appliedIndex().
 *
 * Pages are 8 KiB: lmdb-js then accepts keys of up to 4026 bytes (1978 with 4 KiB
 * pages), which key-encoding.ts needs for 3 KiB user keys. The page size is fixed when
 * the environment is created; an existing one with other pages is refused.
 */
import { open, type RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';

export type SyncMode = 'relaxed' | 'deferred' | 'full' | 'none';

export const PAGE_BYTES = 8192;

export interface TableRange {
  readonly start?: Uint8Array;
  readonly end?: Uint8Array;
  readonly exclusiveStart?: boolean;
  readonly reverse?: boolean;
  readonly limit?: number;
  /** Read in this read view (openReadView) rather than in the latest committed state. */
  readonly transaction?: ReadView;
}

/**
 * An LMDB read transaction: a stable view of every table as of the moment it was
 * opened, which later commits do not change. While it is open LMDB keeps the pages it
 * sees (the file grows instead of reusing them), so it is held only as long as needed
 * and always ended with done().
 */
export interface ReadView {
  done(): void;
}

export function openReadView(env: KvEnv): ReadView {
  return env.root.useReadTransaction() as unknown as ReadView;
}

/**
 * The part of an lmdb-js database the store uses, typed for byte keys and values (lmdb-js
 * accepts any Uint8Array and returns fresh Buffers for both). Reverse ranges start at
 * `start` (inclusive) and go down to `end` (exclusive).
 */
export interface Table {
  get(key: Uint8Array): Buffer | undefined;
  putSync(key: Uint8Array, value: Uint8Array): void;
  removeSync(key: Uint8Array): boolean;
  clearSync(): void;
  getCount(): number;
  /** LMDB's statistics of the table's tree (page counts); lmdb-js types them as {}. */
  getStats(): object;
  getRange(options?: TableRange): Iterable<{ key: Buffer; value: Buffer }>;
}

export interface KvEnv {
  readonly root: RootDatabase<Buffer, Uint8Array>;
  readonly meta: Table;
  readonly history: Table;
  readonly byRevision: Table;
  readonly sessions: Table;
  readonly sessionLru: Table;
  readonly leases: Table;
  readonly leaseKeys: Table;
  readonly auth: Table;
}

export function openKvEnv(path: string, sync: SyncMode): KvEnv {
  mkdirSync(path, { recursive: true });
  const syncOptions =
    sync === 'none' || sync === 'deferred' ? { noSync: true } : sync === 'relaxed' ? { noMetaSync: true, overlappingSync: false } : { overlappingSync: false };
  const root = open<Buffer, Uint8Array>({
    path,
    pageSize: PAGE_BYTES,
    // Address space, not disk: lmdb-js grows it when full, but each growth remaps the
    // file, so start at 1 GiB rather than lmdb-js's 128 KiB.
    mapSize: 1024 * 1024 * 1024,
    maxDbs: 16,
    keyEncoding: 'binary',
    encoding: 'binary',
    ...syncOptions,
  });
  const pageSize = (root.getStats() as { pageSize?: number }).pageSize;
  if (pageSize !== PAGE_BYTES) {
    void root.close();
    throw new Error(`Cannot open key-value store ${path}: its LMDB page size is ${pageSize}, this version needs ${PAGE_BYTES}`);
  }
  const table = (name: string): Table =>
    root.openDB<Buffer, Uint8Array>(name, { keyEncoding: 'binary', encoding: 'binary' }) as unknown as Table;
  return {
    root,
    meta: table('meta'),
    history: table('history'),
    byRevision: table('by-revision'),
    sessions: table('sessions'),
    sessionLru: table('session-lru'),
    leases: table('leases'),
    leaseKeys: table('lease-keys'),
    auth: table('auth'),
  };
}

/** Every table, in the order snapshots list them. */
export function tablesOf(env: KvEnv): readonly (readonly [string, Table])[] {
  return [
    ['meta', env.meta],
    ['history', env.history],
    ['by-revision', env.byRevision],
    ['sessions', env.sessions],
    ['session-lru', env.sessionLru],
    ['leases', env.leases],
    ['lease-keys', env.leaseKeys],
    ['auth', env.auth],
  ];
}

/** Tables added after the snapshot format: a snapshot without one restores it empty. */
export const LATER_TABLES: ReadonlySet<string> = new Set(['auth']);

/** Forces everything committed to disk (mdb_env_sync with force), in a worker thread. */
export function syncEnv(env: KvEnv): Promise<void> {
  // lmdb-js has sync(callback) on the root database; its type declarations omit it.
  const root = env.root as unknown as { sync(callback: (error: unknown) => void): void };
  return new Promise((resolve, reject) => root.sync((error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve())));
}
