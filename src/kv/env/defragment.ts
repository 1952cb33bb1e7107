/**
 * The LMDB file's size, and defragmentation (lmdb-env.ts; memory-env.ts models both).
 *
 * LMDB never shrinks its file: pages freed by deletes and compaction go to a free list
 * and are reused by later writes, but the file keeps its high-water size (measured: 20,000
 * puts of 200 bytes and their deletes leave a 16 MB file, whose compacting copy is 24 KiB).
 * So, as with etcd's bolt, the size that counts against the storage quota only goes down
 * when the file is rewritten. Defragmentation is that rewrite: LMDB's own compacting copy
 * (mdb_env_copy2 with MDB_CP_COMPACT, lmdb-js backup(path, true)) writes the live pages
 * of a read snapshot, densely, into a new file; it is fsynced, then renamed over the old
 * file while the environment is closed, and the directory is fsynced. A crash before the
 * rename leaves the old file (and a leftover copy, removed by the next defragmentation);
 * after it, the new one, complete. The copy is taken while the environment goes on (a
 * read transaction); what was committed after it is applied again by the store (mvcc-store.ts).
 */
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import type { EnvSizes } from './kv-env.js';

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

/** The file's size alone: one LMDB statistics call (about 75 µs measured) instead of one per table. */
export function envFileSize(env: WithStats): number {
  const root = env.getStats() as TreeStats;
  return ((root.lastPageNumber ?? 0) + 1) * (root.pageSize ?? 0);
}

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
 * Writes a compacted copy of the environment at `path` beside it, fsynced, and returns
 * the copy's file. LMDB copies one read transaction, in a worker thread: commits go on
 * meanwhile and are not in the copy.
 */
export async function writeCompactedCopy(env: RootDatabase, path: string): Promise<string> {
  const copyDir = copyDirOf(path);
  await rm(copyDir, { recursive: true, force: true });
  await mkdir(copyDir);
  await env.backup(copyDir, true);
  const copy = join(copyDir, 'data.mdb');
  await fsync(copy);
  return copy;
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
