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
 * damaged file newer than it is reported, not skipped silently. A snapshot the state
 * machine holds already is checked whole later (heldThrough, dataProblem).
 *
 * Snapshots are written and read as streams (snapshot-file.ts): a stored snapshot's
 * data is a FileSnapshotData, read from its file when asked, never held whole.
 *
 * One being received from the leader is written to `<name>.receiving`, made durable
 * every receiveCheckpointBytes or so; a node restarted mid-transfer opens it again and
 * the transfer goes on from its last checkpoint instead of from byte 0.
 */
import { posix } from 'node:path';
import type { LogIndex, ReceivedSnapshotChunk, SnapshotMeta, Term } from '../raft/index.js';
import { DecodeError } from '../lib/index.js';
import type { FileHandle, FileSystem } from './file-system.js';
import { isNotFound } from './file-system.js';
import { StorageUnusableError } from './errors.js';
import { SerialQueue } from './serial-queue.js';
import {
  FileSnapshotData,
  SnapshotFileWriter,
  readSnapshotFileLayout,
  readSnapshotFileMeta,
  sourceChunks,
  verifySnapshotFile,
  writeSnapshotFile,
} from './snapshot-file.js';
import type { SnapshotSource } from './snapshot-file.js';

const namePattern = /^(\d{16})-(\d{16})\.snap$/;
const TMP_SUFFIX = '.tmp';
/** A snapshot being received from the leader, until it is installed. */
const RECEIVING_SUFFIX = '.receiving';
export const CORRUPT_SUFFIX = '.corrupt';
/** Bytes or chunks of a transfer received between two checkpoints (fdatasync): what a
 * crash can cost it at most, against a sync per chunk. */
const receiveCheckpointBytes = 8 * 1024 * 1024;
const receiveCheckpointChunks = 16;

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
  /**
   * The state machine holds every entry through this index already (default 0). A
   * snapshot at or below it is needed at start for its meta alone: its header and length
   * are checked, but its data is checksummed later (dataProblem), off the start path,
   * where reading gigabytes took seconds before a node could serve.
   */
  heldThrough?: LogIndex;
}

/** A snapshot found on disk: its data is read from its file (the caller closes it). */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: FileSnapshotData;
  /** Its data was checksummed at open (false: one the state machine holds, see heldThrough). */
  readonly dataChecked: boolean;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface DamagedSnapshot {
  readonly file: string;
  readonly reason: string;
}

interface Receiving {
  readonly writer: SnapshotFileWriter;
  readonly handle: FileHandle;
  complete: boolean;
  /** Chunks written since the last checkpoint (the writer counts the bytes). */
  uncheckpointedChunks: number;
}

/** Where a transfer cut short by a restart stands: it goes on from `size` bytes. */
export interface SnapshotBeingReceived {
  readonly meta: SnapshotMeta;
  readonly size: number;
}

export class SnapshotStore {
  private failure: string | undefined;
  /** Saves one at a time: a local snapshot's and a leader's may be written at once (RaftStorage). */
  private readonly saves = new SerialQueue();
  /** The snapshot being received from the leader, written a chunk at a time. */
  private receiving: Receiving | undefined;
  /** The transfer open() found, until resumeTransfer() or abandonTransfer() decides. */
  private found: { readonly path: string; readonly meta: SnapshotMeta } | undefined;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly keep: number,
  ) {}

  /**
   * Opens the store and loads the newest valid snapshot. `damaged` lists the files
   * newer than it that failed to load, newest first.
   */
  static async open(options: SnapshotStoreOptions): Promise<{
    store: SnapshotStore;
    snapshot: StoredSnapshot | undefined;
    damaged: DamagedSnapshot[];
    /** A transfer from the leader that a restart cut short: resumeTransfer() or abandonTransfer(). */
    transfer: SnapshotMeta | undefined;
  }> {
    const { fs, dir } = options;
    const log = options.log ?? ((msg: string) => console.warn(msg));
    const keep = options.keep ?? 2;
    await fs.mkdirp(dir);
    const names = await fs.list(dir);
    const newestTransfer = names
      .filter((n) => n.endsWith(`.snap${RECEIVING_SUFFIX}`))
      .sort()
      .at(-1);
    const found = newestTransfer === undefined ? undefined : await SnapshotStore.transferIn(fs, posix.join(dir, newestTransfer), log);
    const leftovers = names.filter((n) => n.endsWith(`.snap${TMP_SUFFIX}`) || (n.endsWith(`.snap${RECEIVING_SUFFIX}`) && posix.join(dir, n) !== found?.path));
    for (const name of leftovers) {
      log(`snapshot store ${dir}: removing ${name}, a snapshot write or transfer cut short`);
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
        const dataChecked = parsed.index > (options.heldThrough ?? 0);
        const layout = dataChecked ? await verifySnapshotFile(handle, yieldToEventLoop) : await readSnapshotFileLayout(handle);
        if (layout.meta.index !== parsed.index || layout.meta.term !== parsed.term) {
          throw new DecodeError(`it holds the snapshot at index ${layout.meta.index}, term ${layout.meta.term}`);
        }
        snapshot = { meta: layout.meta, data: new FileSnapshotData(handle, layout), dataChecked };
        break;
      } catch (error) {
        await handle.close();
        if (!(error instanceof DecodeError)) throw error;
        damaged.push({ file: name, reason: error.message });
      }
    }
    const store = new SnapshotStore(fs, dir, keep);
    store.found = found;
    return { store, snapshot, damaged, transfer: found?.meta };
  }

  /** The transfer file at `path` and the snapshot it is of (its header alone is read); undefined if it is not one. */
  private static async transferIn(fs: FileSystem, path: string, log: (msg: string) => void): Promise<{ path: string; meta: SnapshotMeta } | undefined> {
    const handle = await fs.open(path, 'read');
    try {
      return { path, meta: await readSnapshotFileMeta(handle) };
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      log(`snapshot store: ${path}, a transfer cut short, is not a snapshot file (${error.message})`);
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /**
   * Reopens the transfer open() found to go on from its last checkpoint (its checksum is
   * computed again over what stays): where it stands, or undefined if it cannot go on
   * (the file is removed and the transfer starts over).
   */
  resumeTransfer(): Promise<SnapshotBeingReceived | undefined> {
    return this.guard(async () => {
      const found = this.found;
      this.found = undefined;
      if (!found) return undefined;
      const handle = await this.fs.open(found.path, 'write');
      try {
        const writer = await SnapshotFileWriter.resume(handle, yieldToEventLoop);
        this.receiving = { writer, handle, complete: false, uncheckpointedChunks: 0 };
        return { meta: writer.meta, size: writer.size };
      } catch (error) {
        await handle.close();
        if (!(error instanceof DecodeError)) throw error;
        await this.fs.unlink(found.path);
        await this.fs.syncDir(this.dir);
        return undefined;
      }
    });
  }

  /** Gives up the transfer open() found, when the node holds what it covers already: its file is removed. */
  abandonTransfer(): Promise<void> {
    return this.guard(async () => {
      const found = this.found;
      this.found = undefined;
      if (!found) return;
      await this.fs.unlink(found.path);
      await this.fs.syncDir(this.dir);
    });
  }

  /**
   * Stores a snapshot durably, its data written a chunk at a time (temp file, fsync, rename,
   * directory fsync), then deletes all but the newest `keep`. Answers the stored data,
   * read from the file from now on; the caller closes it.
   */
  save(snapshot: SnapshotSource): Promise<FileSnapshotData> {
    return this.saves.run(() => this.saveNow(snapshot));
  }

  private saveNow(snapshot: SnapshotSource): Promise<FileSnapshotData> {
    const { meta } = snapshot;
    return this.guard(async () => {
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
    });
  }

  /** Runs a write; once one has failed, refuses every later one (see FsyncError). */
  private async guard<T>(write: () => Promise<T>): Promise<T> {
    if (this.failure !== undefined)
      throw new StorageUnusableError(`The snapshot store in ${this.dir} refuses writes: ${this.failure}; restart the process to recover from disk`);
    try {
      return await write();
    } catch (error) {
      this.failure = `an earlier write failed: ${error instanceof Error ? error.message : String(error)}`;
      throw error;
    }
  }

  /**
   * What is wrong with the stored snapshot `meta`'s file (its checksum, above all), or
   * undefined; undefined too once the file is gone (a newer snapshot pruned it). Read
   * through a handle of its own, a chunk at a time, awaiting `between()` after each.
   */
  async dataProblem(meta: SnapshotMeta, between: () => Promise<void> = yieldToEventLoop): Promise<string | undefined> {
    let handle: FileHandle;
    try {
      handle = await this.fs.open(posix.join(this.dir, snapshotFileName(meta.index, meta.term)), 'read');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    try {
      await verifySnapshotFile(handle, between);
      return undefined;
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      return error.message;
    } finally {
      await handle.close();
    }
  }

  /** A snapshot this store saved, opened for reading (not checksummed again: it was
   * written and synced by this process). The caller closes it. */
  read(meta: SnapshotMeta): Promise<FileSnapshotData> {
    return this.open(posix.join(this.dir, snapshotFileName(meta.index, meta.term)));
  }

  private async open(path: string): Promise<FileSnapshotData> {
    const handle = await this.fs.open(path, 'read');
    try {
      return new FileSnapshotData(handle, await readSnapshotFileLayout(handle));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Writes a chunk of a snapshot received from the leader into `<name>.receiving`, at its
   * offset: offset 0 starts the file afresh (a transfer of another snapshot, or this one
   * again, drops the file before it); any other must continue the file where it ends.
   * The chunks are made durable every receiveCheckpointBytes or receiveCheckpointChunks
   * (a restarted node goes on from there), and the last completes the file and syncs it.
   */
  receive(chunk: ReceivedSnapshotChunk): Promise<void> {
    return this.guard(() => this.receiveNow(chunk));
  }

  private async receiveNow(chunk: ReceivedSnapshotChunk): Promise<void> {
    const { meta } = chunk;
    if (chunk.offset === 0) await this.dropReceiving();
    let receiving = this.receiving;
    if (!receiving) {
      const handle = await this.fs.open(this.receivingPath(meta), 'create');
      receiving = { writer: await SnapshotFileWriter.create(handle, meta), handle, complete: false, uncheckpointedChunks: 0 };
      this.receiving = receiving;
    }
    const { writer } = receiving;
    if (writer.meta.index !== meta.index || writer.meta.term !== meta.term || writer.size !== chunk.offset || receiving.complete) {
      throw new Error(
        `a chunk of snapshot ${meta.index} (term ${meta.term}) at offset ${chunk.offset} does not continue the one being received, snapshot ${writer.meta.index} (term ${writer.meta.term}) at ${writer.size} bytes`,
      );
    }
    await writer.append(chunk.data);
    if (!chunk.done) {
      receiving.uncheckpointedChunks++;
      if (writer.uncheckpointed < receiveCheckpointBytes && receiving.uncheckpointedChunks < receiveCheckpointChunks) return;
      // Nothing durable yet: the file's name is not either, and a power cut could lose it.
      const first = writer.uncheckpointed === writer.size;
      await writer.checkpoint();
      if (first) await this.fs.syncDir(this.dir);
      receiving.uncheckpointedChunks = 0;
      return;
    }
    await writer.finish();
    await receiving.handle.sync();
    receiving.complete = true;
  }

  /** The snapshot received whole (receive() of its last chunk), opened for reading: the caller closes it. */
  async received(meta: SnapshotMeta): Promise<FileSnapshotData> {
    const writer = this.receiving?.complete ? this.receiving.writer : undefined;
    if (writer?.meta.index !== meta.index || writer.meta.term !== meta.term)
      throw new Error(`snapshot ${meta.index} (term ${meta.term}) was not received whole`);
    return this.open(this.receivingPath(meta));
  }

  /**
   * Stores a snapshot durably. One received whole is moved into place (rename, directory
   * fsync), its bytes not written again; any other is written (save). Then deletes all
   * but the newest `keep`.
   */
  install(snapshot: SnapshotSource): Promise<void> {
    const { meta } = snapshot;
    const writer = this.receiving?.complete ? this.receiving.writer : undefined;
    if (writer?.meta.index !== meta.index || writer.meta.term !== meta.term) return this.save(snapshot).then((stored) => stored.close());
    return this.saves.run(() =>
      this.guard(async () => {
        await this.dropReceiving(posix.join(this.dir, snapshotFileName(meta.index, meta.term)));
        await this.fs.syncDir(this.dir);
        await this.prune();
      }),
    );
  }

  /** Ends the transfer being received: its file is renamed to `to`, or else removed. */
  private async dropReceiving(to?: string): Promise<void> {
    const receiving = this.receiving;
    if (!receiving) return;
    this.receiving = undefined;
    await receiving.handle.close();
    const path = this.receivingPath(receiving.writer.meta);
    if (to === undefined) await this.fs.unlink(path);
    else await this.fs.rename(path, to);
  }

  private receivingPath(meta: SnapshotMeta): string {
    return posix.join(this.dir, snapshotFileName(meta.index, meta.term) + RECEIVING_SUFFIX);
  }

  /** Renames damaged snapshot files aside (`.corrupt`), kept for inspection but no
   * longer loaded or counted. */
  async quarantine(files: readonly string[]): Promise<void> {
    for (const file of files) await this.fs.rename(posix.join(this.dir, file), posix.join(this.dir, file + CORRUPT_SUFFIX));
    if (files.length > 0) await this.fs.syncDir(this.dir);
  }

  /** quarantine() of a stored snapshot found damaged while the node runs, in turn with the
   * saves (whose pruning renames and deletes too); answers false if its file is gone. */
  quarantineSaved(meta: SnapshotMeta): Promise<boolean> {
    const name = snapshotFileName(meta.index, meta.term);
    return this.saves.run(async () => {
      if (!(await this.files()).includes(name)) return false;
      await this.quarantine([name]);
      return true;
    });
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
