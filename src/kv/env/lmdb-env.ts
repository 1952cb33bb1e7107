/**
 * The LMDB environment behind the store (kv-env.ts lists its tables, one LMDB named
 * database each). What the node runs on; the simulator runs on memory-env.ts.
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
import { open, type Database, type RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { discardCopy, envSizes, swapInCopy, writeCompactedCopy } from './defragment.js';
import {
  STORED_TABLES,
  TABLES,
  type CompactedCopy,
  type EnvSizes,
  type KvEnv,
  type ReadView,
  type SnapshotStream,
  type Table,
  type TableField,
} from './kv-env.js';
import { beginUnsynced, currentBootId, endUnsynced } from './unsynced-marker.js';
import { streamSnapshotInWorker } from './snapshot-apart.js';
import type { SyncMode } from './sync-mode.js';

export const PAGE_BYTES = 8192;

export interface LmdbEnvOptions {
  /** Directory of the environment; created if missing. */
  readonly path: string;
  /** Default 'relaxed'. */
  readonly sync?: SyncMode;
  /** For 'deferred': this boot's id (default: the system's; tests pass another to play a reboot). */
  readonly bootId?: string;
  /**
   * File size from which a Raft snapshot is read out in a worker thread
   * (streamSnapshotApart); below it, on the caller's event loop. Default
   * snapshotWorkerBytesMinDefault; Infinity for a test whose every step must happen
   * when it says.
   */
  readonly snapshotWorkerBytesMin?: number;
}

/**
 * Below this file size a snapshot is read out on the event loop: a few slices of 5 ms,
 * where a worker thread takes 100-300 ms to start (loading its modules) on a busy
 * machine, which a node taking a snapshot every few hundred entries of a small store
 * would pay each time.
 */
export const snapshotWorkerBytesMinDefault = 16 * 1024 * 1024;

/** Opens (or creates) the environment at `options.path`. */
export function openLmdbEnv(options: LmdbEnvOptions): KvEnv {
  let sync = options.sync ?? 'relaxed';
  let discardedOnOpen = false;
  if (sync === 'deferred') {
    const bootId = options.bootId ?? currentBootId();
    if (bootId === undefined) sync = 'relaxed';
    else discardedOnOpen = beginUnsynced(options.path, bootId).discarded;
  }
  return new LmdbEnv(options.path, sync, discardedOnOpen, options.snapshotWorkerBytesMin ?? snapshotWorkerBytesMinDefault);
}

class LmdbEnv implements KvEnv {
  private readonly root: RootDatabase<Buffer, Buffer>;
  private readonly databases: readonly Database<Buffer, Buffer>[];
  readonly meta: Table;
  readonly history: Table;
  readonly byRevision: Table;
  readonly sessions: Table;
  readonly sessionLru: Table;
  readonly leases: Table;
  readonly leaseKeys: Table;
  readonly auth: Table;
  readonly latest: Table;

  constructor(
    private readonly path: string,
    private readonly syncMode: SyncMode,
    readonly discardedOnOpen: boolean,
    /** File size from which snapshots are read out in a worker thread. */
    private readonly snapshotWorkerBytesMin: number,
    /** The last defragmentation's leftovers being removed, in the background. */
    private readonly previousCopyRemoved: Promise<void> = Promise.resolve(),
  ) {
    this.root = openRoot(path, syncMode);
    // lmdb-js accepts any Uint8Array and returns fresh Buffers: each database is a Table, typed for bytes.
    this.databases = openTables(this.root);
    const tables = new Map<TableField, Table>(STORED_TABLES.map(([, field], i) => [field, this.databases[i] as Database<Buffer, Buffer>]));
    const get = (field: TableField): Table => {
      const table = tables.get(field);
      if (!table) throw new Error(`LMDB environment: no table for ${field}`);
      return table;
    };
    this.meta = get('meta');
    this.history = get('history');
    this.byRevision = get('byRevision');
    this.sessions = get('sessions');
    this.sessionLru = get('sessionLru');
    this.leases = get('leases');
    this.leaseKeys = get('leaseKeys');
    this.auth = get('auth');
    this.latest = get('latest');
  }

  transactionSync(action: () => void): void {
    this.root.transactionSync(action);
  }

  /** mdb_env_sync with force, in a worker thread. */
  sync(): Promise<void> {
    // lmdb-js has sync(callback) on the root database; lmdb-sync.d.ts declares it.
    return new Promise((resolve, reject) => this.root.sync((error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve())));
  }

  async close(): Promise<void> {
    if (this.syncMode === 'deferred') {
      // A clean close syncs everything, so the next open needs to discard nothing.
      await this.sync();
      await this.root.close();
      endUnsynced(this.path);
      return;
    }
    await this.root.close();
  }

  sizes(): EnvSizes {
    return envSizes(this.root, this.databases);
  }

  fileSize(): number {
    // mdb_env_info: about 1 µs. getStats, which renews a read transaction and counts the
    // free pages as well, took 40-75 µs, and the replica asks after every apply.
    return (this.root.env.info().lastPageNumber + 1) * PAGE_BYTES;
  }

  async copyCompacted(): Promise<CompactedCopy> {
    // The view is taken at the call, as in memory-env.ts: what is committed after it is what the caller applies again.
    // Every stored table: the copy serves as it is, derived tables included.
    const view = readViewOf(this.root, this.databases, STORED_TABLES);
    await this.previousCopyRemoved;
    const copy = await writeCompactedCopy(view, this.path, (dir) => openRoot(dir, 'none'));
    return {
      // Not synced at each commit: the caller syncs it once caught up, before the swap.
      open: () => new LmdbEnv(dirname(copy), 'none', false, Number.POSITIVE_INFINITY),
      swapIn: async () => {
        const { removed } = await swapInCopy(copy, this.path, () => this.root.close());
        return new LmdbEnv(this.path, this.syncMode, false, this.snapshotWorkerBytesMin, removed);
      },
      discard: () => discardCopy(this.path),
    };
  }

  /** Read out in a worker thread, which opens this environment as this thread did, once the file is large enough. */
  streamSnapshotApart(): Promise<SnapshotStream> | undefined {
    return this.fileSize() >= this.snapshotWorkerBytesMin ? streamSnapshotInWorker(this.path, this.syncMode) : undefined;
  }

  /** One LMDB read transaction over every table (lmdb-js's useReadTransaction). */
  readView(): ReadView {
    return readViewOf(this.root, this.databases, TABLES);
  }
}

/**
 * The environment at `path` opened for reads only, in another thread of the process
 * than the node's (snapshot-worker.ts), with the node's options (LMDB shares one
 * environment between the threads of a process).
 */
export function openLmdbReader(path: string, sync: SyncMode): { readView(): ReadView; close(): Promise<void> } {
  const root = openRoot(path, sync);
  const databases = openTables(root);
  return { readView: () => readViewOf(root, databases, TABLES), close: () => root.close() };
}

/** The databases of STORED_TABLES, in its order. */
function openTables(root: RootDatabase<Buffer, Buffer>): Database<Buffer, Buffer>[] {
  return STORED_TABLES.map(([name]) => root.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', encoding: 'binary' }));
}

/** A read view of `tables`: TABLES or STORED_TABLES, whose first databases are TABLES' (openTables). */
function readViewOf(root: RootDatabase<Buffer, Buffer>, databases: readonly Database<Buffer, Buffer>[], tables: typeof STORED_TABLES): ReadView {
  const transaction = root.useReadTransaction();
  return {
    tables: tables.map(([name], i) => [name, (databases[i] as Database<Buffer, Buffer>).getRange({ transaction })] as const),
    done: () => transaction.done(),
  };
}

function openRoot(path: string, sync: SyncMode): RootDatabase<Buffer, Buffer> {
  mkdirSync(path, { recursive: true });
  const syncOptions =
    sync === 'none' || sync === 'deferred' ? { noSync: true } : sync === 'relaxed' ? { noMetaSync: true, overlappingSync: false } : { overlappingSync: false };
  const root = open<Buffer, Buffer>({
    path,
    pageSize: PAGE_BYTES,
    // Address space, not disk: lmdb-js grows it when full, but each growth remaps the
    // file, so start at 1 GiB rather than lmdb-js's 128 KiB.
    mapSize: 1024 * 1024 * 1024,
    maxDbs: 16,
    // A commit changes the mapped file in place (MDB_WRITEMAP) instead of copying each
    // dirty page into a malloc'ed buffer and pwriting it: a put's store CPU went from
    // 8-11 to 3-5 µs (docs/internals/performance.md, "Pages written in place").
    // The file is then sparse, as large as the map, and a page the disk has no room for
    // stops the process (SIGBUS) rather than failing the commit: the node's disk
    // reserve (server/disk-space.ts) refuses writes well before that.
    useWritemap: true,
    // A directory holding data.mdb and lock.mdb, whatever its name (lmdb-js takes a path
    // with an extension, such as a defragmentation's kv.defrag, for a file).
    noSubdir: false,
    keyEncoding: 'binary',
    encoding: 'binary',
    ...syncOptions,
  });
  const pageSize = (root.getStats() as { pageSize?: number }).pageSize;
  if (pageSize !== PAGE_BYTES) {
    void root.close();
    throw new Error(`Cannot open key-value store ${path}: its LMDB page size is ${pageSize}, this version needs ${PAGE_BYTES}`);
  }
  return root;
}
