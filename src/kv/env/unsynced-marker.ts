/**
 * The marker behind the store's 'deferred' sync mode (lmdb-env.ts).
 *
 * With deferred sync, LMDB commits skip fsync (MDB_NOSYNC): a commit is in the page
 * cache when it returns, which a process crash (kill -9, a fatal error) cannot undo,
 * but a system crash (power loss, kernel panic) can — and worse, it can leave the
 * newest meta page on disk without all the pages it points to, a torn file LMDB cannot
 * detect. The store is only a cache of the Raft log, though: a durable snapshot plus
 * the fsynced WAL after it rebuild it whole (keel-node.ts restores and replays them
 * when the store is empty). So the store need not survive a system crash, only be
 * known not to have.
 *
 * The marker tells: a file holding the machine's boot id, written durably when the
 * store opens (before any unsynced commit) and removed durably once a clean close has
 * synced everything. At the next open:
 *   - no marker: the last close was clean and synced; the file is whole;
 *   - a marker with this boot's id: the last run crashed, but the machine did not; its
 *     commits are all in the page cache, so the file is whole;
 *   - a marker with another boot's id: the last run never synced and the machine has
 *     restarted since; the file may be torn and must be discarded.
 * Linux gives a boot id (/proc/sys/kernel/random/boot_id); where there is none, the
 * store cannot tell and syncs each commit instead ('relaxed').
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const markerName = 'unsynced-since-boot';
const bootIdPath = '/proc/sys/kernel/random/boot_id';

/** This boot's id, or undefined where the system gives none. */
export function currentBootId(): string | undefined {
  try {
    const id = readFileSync(bootIdPath, 'utf8').trim();
    return id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Called before the environment at `dir` (created if missing) opens with deferred sync: discards its LMDB
 * files if a system crash may have torn them (see above), then records that commits
 * from now on are unsynced in boot `bootId`. Returns whether it discarded them.
 */
export function beginUnsynced(dir: string, bootId: string): { readonly discarded: boolean } {
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, markerName);
  let discarded = false;
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() !== bootId) {
    for (const file of ['data.mdb', 'lock.mdb']) rmSync(join(dir, file), { force: true });
    discarded = true;
  }
  // Written whole or not at all (a temporary file renamed over), then made durable
  // with its directory entry, before the first unsynced commit can exist.
  const temporary = `${marker}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, `${bootId}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, marker);
  syncDirectory(dir);
  return { discarded };
}

/** Called after a clean close has synced the environment at `dir`: nothing is unsynced any more. */
export function endUnsynced(dir: string): void {
  try {
    unlinkSync(join(dir, markerName));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  syncDirectory(dir);
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
