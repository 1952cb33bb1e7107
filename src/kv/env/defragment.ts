/**
 * The LMDB file's size, and defragmentation (lmdb-env.ts; memory-env.ts models both).
 *
 * LMDB never shrinks its file: pages freed by deletes and compaction go to a free list
 * and are reused by later writes, but the file keeps its high-water size (measured: 20,000
 * puts of 200 bytes and their deletes leave a 16 MB file, whose compacting copy is 24 KiB).
 * So, as with etcd's bolt, the size that counts against the storage quota only goes down
 * when the file is rewritten. Defragmentation is that rewrite: every table of one read
 * transaction is written, entry by entry in key order, into a new environment beside it,
 * which packs its pages densely; it is fsynced, then renamed over the old file while the
 * environment is closed, and the directory is fsynced. A crash before the rename leaves
 * the old file (and a leftover copy, removed by the next defragmentation); after it, the
 * new one, complete. The copy is taken while the environment goes on (a read
 * transaction); what was committed after it is applied again by the store (mvcc-store.ts).
 *
 * Not LMDB's own compacting copy (mdb_env_copy2 with MDB_CP_COMPACT, lmdb-js backup(path,
 * true)): taken while the store committed, as here, its copies were sometimes damaged
 * (five of seven 3-node runs under many clients' puts, measured: the first write to the
 * swapped-in copy failed with "mdb_page_alloc error" and MDB_BAD_TXN, and the node
 * stopped). Copying entries uses only reads and ordinary writes.
 */
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import type { EnvSizes, ReadView } from './kv-env.js';

/** Work done between two turns of the event loop while a copy is written. */
const copySliceMs = 5;
/** Bytes of entries per write transaction of the copy: bounded dirty pages in memory. */
const copyBatchBytes = 8 * 1024 * 1024;

/** An LMDB database, for its statistics (lmdb-js types them as {}). */
interface WithStats {
  getStats(): object;
}

interface TreeStats {
  readonly pageSize?: number;
  readonly treeBranchPageCount?: number;
  readonly treeLeafPageCount?: number;
  readonly overflowPages?: number;
  readonly lastPageNumber?: number;
}

/** LMDB's two meta pages, which every environment has. */
const META_PAGES = 2;

export function envSizes(env: WithStats, tables: readonly WithStats[]): EnvSizes {
  const root = env.getStats() as TreeStats;
  const pageSize = root.pageSize ?? 0;
  const treePages = (stats: TreeStats): number => (stats.treeBranchPageCount ?? 0) + (stats.treeLeafPageCount ?? 0) + (stats.overflowPages ?? 0);
  let inUse = META_PAGES + treePages(root);
  for (const table of tables) inUse += treePages(table.getStats() as TreeStats);
  return { dbSize: ((root.lastPageNumber ?? 0) + 1) * pageSize, dbSizeInUse: inUse * pageSize };
}

const copyDirOf = (path: string): string => `${path}.defrag`;

/**
 * Writes a compacted copy of `view` (every table, as one read transaction saw them) into a
 * new environment beside `path`, fsynced, and returns the copy's file. Entries go in key
 * order (LMDB's append mode, pages filled densely), in transactions of about
 * copyBatchBytes, the event loop given back every copySliceMs: commits go on meanwhile
 * and are not in the copy. `openCopy` opens an environment as the store's own are.
 * Ends the view.
 */
export async function writeCompactedCopy(view: ReadView, path: string, openCopy: (dir: string) => RootDatabase<Buffer, Buffer>): Promise<string> {
  const copyDir = copyDirOf(path);
  try {
    await rm(copyDir, { recursive: true, force: true });
    await mkdir(copyDir);
    const root = openCopy(copyDir);
    try {
      for (const [name, entries] of view.tables) {
        const table = root.openDB<Uint8Array, Uint8Array>(name, { keyEncoding: 'binary', encoding: 'binary' });
        await copyTable(root, table, entries[Symbol.iterator]());
      }
    } finally {
      await root.close();
    }
  } finally {
    view.done();
  }
  const copy = join(copyDir, 'data.mdb');
  await fsync(copy);
  return copy;
}

async function copyTable(
  root: RootDatabase<Buffer, Buffer>,
  table: Database<Uint8Array, Uint8Array>,
  entries: Iterator<{ readonly key: Uint8Array; readonly value: Uint8Array }>,
): Promise<void> {
  for (let done = false; !done; ) {
    const sliceStart = performance.now();
    root.transactionSync(() => {
      for (let bytes = 0; bytes < copyBatchBytes && performance.now() - sliceStart < copySliceMs; ) {
        const next = entries.next();
        if (next.done) {
          done = true;
          return;
        }
        table.putSync(next.value.key, next.value.value, { append: true });
        bytes += next.value.key.length + next.value.value.length;
      }
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Replaces the environment's file with the copy: `closeEnv` first, then the rename and
 * the directory's fsync. The caller reopens the environment afterwards and keeps every
 * call away meanwhile, so this is kept short: the old file is linked beside the copy
 * first, so that the rename does not free its blocks (measured: 0.3 s for an 850 MB file
 * on ext4), and it is removed afterwards, in the background, with the copy's folder (or
 * by the next defragmentation, if the process stops first).
 */
export async function swapInCopy(copy: string, path: string, closeEnv: () => Promise<void>): Promise<{ readonly removed: Promise<void> }> {
  await closeEnv();
  const file = join(path, 'data.mdb');
  await link(file, join(copyDirOf(path), 'replaced.mdb'));
  await rename(copy, file);
  await fsync(path);
  // The next defragmentation waits for this before it writes its copy in the same folder.
  return { removed: discardCopy(path).catch(() => undefined) };
}

export async function discardCopy(path: string): Promise<void> {
  await rm(copyDirOf(path), { recursive: true, force: true });
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
