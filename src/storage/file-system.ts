/**
 * The small set of file operations the WAL and the snapshot store need, behind an
 * interface so tests can swap in FaultFileSystem (fault-file-system.ts), which loses
 * unsynced bytes, tears writes and flips bits on demand.
 *
 * Durability rules this interface makes explicit (POSIX, as Linux implements it):
 *   - written bytes are durable only after datasync()/sync() of their file;
 *   - a new, renamed or removed name is durable only after syncDir() of its directory;
 *   - a failed fsync is fatal (FsyncError): the kernel may already have dropped the
 *     dirty pages and marked them clean, so a retry can "succeed" while the data is
 *     gone (the 2018 PostgreSQL "fsyncgate"). The only safe reaction is to stop and
 *     recover from what is on disk.
 */
import { constants as fsConstants, readSync } from 'node:fs';
import { open as openFile, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';

/** 'create': a new file, read-write; fails if it exists. 'write': an existing file,
 * read-write. 'read': an existing file, read-only. */
export type OpenMode = 'create' | 'write' | 'read';

export interface FileHandle {
  readonly path: string;
  /** Writes all of `data` at byte `position` (bytes past the end extend the file). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position` (fewer at the end of the file). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** read(), synchronously: for the one reader that cannot wait, the Raft core taking a
   * chunk of a stored snapshot to send (FileSnapshotData). */
  readSync(position: number, length: number): Uint8Array;
  size(): Promise<number>;
  truncate(length: number): Promise<void>;
  /**
   * Reserves space for the file up to `bytes` (it grows to at least that size, the
   * new bytes reading as zeros), so that later writes within it cannot fail for lack
   * of space; durable with the next datasync. Fails with code ENOSPC when the device
   * has not that much room.
   */
  allocate(bytes: number): Promise<void>;
  /**
   * write() and fdatasync in one: the bytes of this write are durable when it
   * resolves (the file opened with O_DSYNC: one system call on the thread pool, not a
   * write and then a sync, which needed a turn of the event loop in between). Only
   * these bytes: an earlier write not synced yet may still be lost. A failure is an
   * FsyncError (never retry), unless the device had no room (code ENOSPC or EDQUOT).
   */
  writeDurably(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the file's data and size are durable when this resolves. */
  datasync(): Promise<void>;
  /** fsync: data and every piece of metadata are durable when this resolves. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /**
   * The whole file. Read into `into` when it is large enough (the answer is then a view of
   * it): a buffer used again spares the fresh pages a new one costs, which on the
   * development machine made reading a 64 MiB segment 200 ms instead of 4.
   */
  readFile(path: string, into?: Uint8Array): Promise<Uint8Array>;
  /** The names in a directory, sorted. */
  list(dir: string): Promise<string[]>;
  /** Atomically replaces `to` (if any) with `from`; durable after syncDir. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes the directory's entries (creations, renames, removals) durable. */
  syncDir(dir: string): Promise<void>;
  /** Creates the directory and its missing parents, durably (the parent of each new
   * directory is fsynced); no error if it exists. */
  mkdirp(dir: string): Promise<void>;
}

/**
 * An fsync, fdatasync or directory fsync failed. Never retry: stop the node and let
 * it recover from disk (see the header).
 */
export class FsyncError extends Error {
  override name = 'FsyncError';
  constructor(
    readonly path: string,
    readonly operation: 'fsync' | 'fdatasync' | 'directory fsync',
    cause: unknown,
  ) {
    super(
      `${operation} of ${path} failed (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'data written since the last successful sync may be lost, so this process must stop and recover from disk — an fsync is never retried',
      { cause },
    );
  }
}

/** True for a "no such file or directory" error from either implementation. */
export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

const runFile = promisify(execFile);
/** Bytes per write when space is reserved by writing zeros. */
const zeroChunkBytes = 1024 * 1024;

const flags: Record<OpenMode, string> = { create: 'wx+', write: 'r+', read: 'r' };

/** The real thing, on node:fs/promises. */
export class NodeFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFile(path, await openFile(path, flags[mode]));
  }

  async readFile(path: string, into?: Uint8Array): Promise<Uint8Array> {
    const handle = await openFile(path, 'r');
    try {
      const size = (await handle.stat()).size;
      // A plain Uint8Array, not a Buffer, so decoded values compare equal to ones built in memory.
      const out = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await handle.read(out, done, size - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.subarray(0, done);
    } finally {
      await handle.close();
    }
  }

  async list(dir: string): Promise<string[]> {
    return (await readdir(dir)).sort();
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    await unlink(path);
  }

  async syncDir(dir: string): Promise<void> {
    const handle = await openFile(dir, 'r');
    try {
      await handle.sync();
    } catch (error) {
      throw new FsyncError(dir, 'directory fsync', error);
    } finally {
      await handle.close();
    }
  }

  async mkdirp(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = resolve(dir); ; d = dirname(d)) {
      try {
        await stat(d);
        break;
      } catch (error) {
        if (!isNotFound(error) || dirname(d) === d) throw error;
        missing.unshift(d);
      }
    }
    // A new directory is only as durable as its entry in its parent.
    for (const d of missing) {
      await mkdir(d, { recursive: true });
      await this.syncDir(dirname(d));
    }
  }
}

class NodeFile implements FileHandle {
  constructor(
    readonly path: string,
    private readonly handle: NodeFileHandle,
  ) {}

  /**
   * The same open file a second time, with O_DSYNC, from the first writeDurably on;
   * undefined where it cannot be had. It is opened through /proc/self/fd (Linux), not
   * by name: a WAL segment is renamed after it is opened.
   */
  private durableHandle: Promise<NodeFileHandle | undefined> | undefined;

  write(data: Uint8Array, position: number): Promise<void> {
    return writeAll(this.handle, this.path, data, position);
  }

  async writeDurably(data: Uint8Array, position: number): Promise<void> {
    try {
      this.durableHandle ??= openFile(`/proc/self/fd/${this.handle.fd}`, fsConstants.O_WRONLY | fsConstants.O_DSYNC).catch(() => undefined);
      const durable = await this.durableHandle;
      if (durable) {
        await writeAll(durable, this.path, data, position);
      } else {
        // No /proc: a write, then a flush.
        await writeAll(this.handle, this.path, data, position);
        await this.handle.datasync();
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw error;
      throw new FsyncError(this.path, 'fdatasync', error);
    }
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out.subarray(0, done);
  }

  readSync(position: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.handle.fd, out, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out.subarray(0, done);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  async truncate(length: number): Promise<void> {
    await this.handle.truncate(length);
  }

  async allocate(bytes: number): Promise<void> {
    const size = await this.size();
    if (size >= bytes) return;
    // Node.js has no fallocate(2); util-linux's fallocate(1) is on every Linux system.
    // Where it is missing or the file system cannot reserve space that way, zeros are
    // written instead, which reserves the same space at the cost of writing it.
    try {
      await runFile('fallocate', ['--length', String(bytes), this.path]);
      return;
    } catch (error) {
      if (/No space left/i.test(String((error as { stderr?: unknown }).stderr))) {
        throw Object.assign(new Error(`no space left on the device to allocate ${bytes} bytes for ${this.path}`), { code: 'ENOSPC' });
      }
    }
    const zeros = new Uint8Array(Math.min(zeroChunkBytes, bytes - size));
    for (let position = size; position < bytes; position += zeros.length) {
      await this.write(position + zeros.length <= bytes ? zeros : zeros.subarray(0, bytes - position), position);
    }
  }

  async datasync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (error) {
      throw new FsyncError(this.path, 'fdatasync', error);
    }
  }

  async sync(): Promise<void> {
    try {
      await this.handle.sync();
    } catch (error) {
      throw new FsyncError(this.path, 'fsync', error);
    }
  }

  async close(): Promise<void> {
    const durable = this.durableHandle;
    this.durableHandle = undefined;
    await Promise.all([this.handle.close(), durable?.then((handle) => handle?.close())]);
  }
}

/** Writes all of `data` at `position`: a single write may be short (signals, quotas), so it loops. */
async function writeAll(handle: NodeFileHandle, path: string, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write to ${path} at ${position + done} made no progress`);
    done += bytesWritten;
  }
}
