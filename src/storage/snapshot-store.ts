/**
 * Snapshot files in one directory, named `<index>-<term>.snap` (zero-padded).
 *
 * A snapshot is written to `<name>.tmp`, fsynced, renamed into place, and the
 * directory is fsynced: a crash at any point leaves either the previous snapshots
 * untouched or the new one complete, never a half-written file under a real name.
 * The newest two are kept, so a snapshot found damaged at start has an older one to
 * fall back on (raft-storage.ts decides whether the WAL allows it).
 *
 * Opening reads from the newest down and stops at the first valid snapshot; every
 * damaged file newer than it is reported, not skipped silently.
 *
 * Snapshots are written and read as streams (snapshot-file.ts): a stored snapshot's
 * data is a FileSnapshotData, read from its file when asked, never held whole.
 */
import { posix } from 'node:path';
import type { LogIndex, SnapshotMeta, Term } from '../raft/types.js';
import { MalformedError } from './bytes.js';
import type { FileSystem } from './file-system.js';
import { isNotFound } from './file-system.js';
import { StorageUnusableError } from './errors.js';
import { SerialQueue } from './serial-queue.js';
import { FileSnapshotData, readSnapshotFileLayout, sourceChunks, verifySnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import type { SnapshotSource } from './snapshot-file.js';

const namePattern = /^(\d{16})-(\d{16})\.snap$/;
const TMP_SUFFIX = '.tmp';
export const CORRUPT_SUFFIX = '.corrupt';

export function snapshotFileName(index: LogIndex, term: Term): string {
  return `${String(index).padStart(16, '0')}-${String(term).padStart(16, '0')}.snap`;
}

function parseName(name: string): { index: LogIndex; term: Term } | undefined {
  const match = namePattern.exec(name);
  return match ? { index: Number(match[1]), term: Number(match[2]) } : undefined;
}

export interface SnapshotStoreOptions {
  fs: FileSystem;
  dir: string;
  log?: (msg: string) => void;
  /** How many snapshots to keep (default 2). */
  keep?: number;
}

/** A snapshot found on disk: its data is read from its file (the caller closes it). */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: FileSnapshotData;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface DamagedSnapshot {
  readonly file: string;
  readonly reason: string;
}

export class SnapshotStore {
  private failure: string | undefined;
  /** Saves one at a time: a local snapshot's and a leader's may be written at once (RaftStorage). */
  private readonly saves = new SerialQueue();

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly keep: number,
  ) {}

  /**
   * Opens the store and loads the newest valid snapshot. `damaged` lists the files
   * newer than it that failed to load, newest first.
   */
  static async open(options: SnapshotStoreOptions): Promise<{ store: SnapshotStore; snapshot: StoredSnapshot | undefined; damaged: DamagedSnapshot[] }> {
    const { fs, dir } = options;
    const log = options.log ?? ((msg: string) => console.warn(msg));
    const keep = options.keep ?? 2;
    await fs.mkdirp(dir);
    const names = await fs.list(dir);
    const leftovers = names.filter((n) => n.endsWith(`.snap${TMP_SUFFIX}`));
    for (const name of leftovers) {
      log(`snapshot store ${dir}: removing ${name}, a snapshot write cut short by a crash`);
      await fs.unlink(posix.join(dir, name));
    }
    if (leftovers.length > 0) await fs.syncDir(dir);

    const candidates = names
      .map((name) => ({ name, parsed: parseName(name) }))
      .filter((c): c is { name: string; parsed: { index: LogIndex; term: Term } } => c.parsed !== undefined)
      .sort((a, b) => b.parsed.index - a.parsed.index || b.parsed.term - a.parsed.term);
    const damaged: DamagedSnapshot[] = [];
    let snapshot: StoredSnapshot | undefined;
    for (const { name, parsed } of candidates) {
      const handle = await fs.open(posix.join(dir, name), 'read');
      try {
        const layout = await verifySnapshotFile(handle, yieldToEventLoop);
        if (layout.meta.index !== parsed.index || layout.meta.term !== parsed.term) {
          throw new MalformedError(`it holds the snapshot at index ${layout.meta.index}, term ${layout.meta.term}`);
        }
        snapshot = { meta: layout.meta, data: new FileSnapshotData(handle, layout) };
        break;
      } catch (error) {
        await handle.close();
        if (!(error instanceof MalformedError)) throw error;
        damaged.push({ file: name, reason: error.message });
      }
    }
    return { store: new SnapshotStore(fs, dir, keep), snapshot, damaged };
  }

  /**
   * Stores a snapshot durably, its data written a chunk at a time (temp file, fsync, rename,
   * directory fsync), then deletes all but the newest `keep`. Answers the stored data,
   * read from the file from now on; the caller closes it.
   */
  save(snapshot: SnapshotSource): Promise<FileSnapshotData> {
    return this.saves.run(() => this.saveNow(snapshot));
  }

  private async saveNow(snapshot: SnapshotSource): Promise<FileSnapshotData> {
    const { meta } = snapshot;
    if (this.failure !== undefined)
      throw new StorageUnusableError(`The snapshot store in ${this.dir} refuses writes: ${this.failure}; restart the process to recover from disk`);
    try {
      const name = snapshotFileName(meta.index, meta.term);
      const tmp = posix.join(this.dir, name + TMP_SUFFIX);
      await this.fs.unlink(tmp).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
      const handle = await this.fs.open(tmp, 'create');
      try {
        await writeSnapshotFile(handle, meta, sourceChunks(snapshot));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.fs.rename(tmp, posix.join(this.dir, name));
      await this.fs.syncDir(this.dir);
      await this.prune();
      return await this.read(meta);
    } catch (error) {
      this.failure = `an earlier write failed: ${error instanceof Error ? error.message : String(error)}`;
      throw error;
    }
  }

  /** A snapshot this store saved, opened for reading (not checksummed again: it was
   * written and synced by this process). The caller closes it. */
  async read(meta: SnapshotMeta): Promise<FileSnapshotData> {
    const handle = await this.fs.open(posix.join(this.dir, snapshotFileName(meta.index, meta.term)), 'read');
    try {
      return new FileSnapshotData(handle, await readSnapshotFileLayout(handle));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Renames damaged snapshot files aside (`.corrupt`), kept for inspection but no
   * longer loaded or counted. */
  async quarantine(files: readonly string[]): Promise<void> {
    for (const file of files) await this.fs.rename(posix.join(this.dir, file), posix.join(this.dir, file + CORRUPT_SUFFIX));
    if (files.length > 0) await this.fs.syncDir(this.dir);
  }

  /** The snapshot file names, oldest first. */
  async files(): Promise<string[]> {
    return (await this.fs.list(this.dir)).filter((n) => parseName(n) !== undefined).sort();
  }

  private async prune(): Promise<void> {
    const files = await this.files();
    const doomed = files.slice(0, Math.max(0, files.length - this.keep));
    for (const name of doomed) await this.fs.unlink(posix.join(this.dir, name));
    if (doomed.length > 0) await this.fs.syncDir(this.dir);
  }
}
