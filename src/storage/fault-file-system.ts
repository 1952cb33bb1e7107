/**
 * An in-memory FileSystem that remembers, for every file and directory, what is
 * durable and what was only written, so tests can pull the plug at any moment and
 * see exactly what a real disk could hold afterwards.
 *
 * The model (Linux, ext4-like, simplified on purpose):
 *   - A file's bytes become durable when the file is datasync'ed or sync'ed. Until
 *     then every write and truncate is "pending". A durable write (O_DSYNC) makes its
 *     own bytes durable at once and nothing else: pending writes it covers are
 *     superseded, the others stay pending (if a truncate is pending, the whole file
 *     is synced instead; storage never truncates between syncs).
 *   - A directory entry (create, rename, unlink) becomes durable when the directory
 *     is synced. Until then it is a pending directory operation. Directories
 *     themselves (mkdirp) are durable at once: storage creates them once, at start.
 *   - crash(): every pending operation is lost, unless told otherwise — the newest
 *     unsynced write may survive torn (a prefix of it) or zero-filled (the size grew
 *     but the data never landed); with a Prng, a random prefix of each file's and
 *     each directory's pending operations survives, its last write possibly torn.
 *     Pending operations survive in order: writeback that persists a later page but
 *     not an earlier one is not modelled.
 *   - A failed sync drops the file's pending operations from the durable future
 *     while reads still see them — as Linux does when writeback fails, which is why
 *     a retried fsync must never be trusted (see FsyncError).
 *
 * Nothing here imports test code, so the simulator can use it too.
 */
import { posix } from 'node:path';
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';
import { FsyncError } from './file-system.js';
import type { Prng } from '../lib/index.js';

/** An error with a node-style code (ENOENT, EEXIST, ...). */
export class FaultFsError extends Error {
  override name = 'FaultFsError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Thrown by every call after an armed crash point fired, until crash() is called. */
export class PowerCutError extends Error {
  override name = 'PowerCutError';
}

export type TornWrite = { readonly mode: 'tear'; readonly keepBytes: number } | { readonly mode: 'zero' };

export interface CrashOptions {
  /** What becomes of the newest unsynced write: kept in part, or as zeros. Every
   * pending operation of that file before it survives; everything else is lost. */
  readonly lastWrite?: TornWrite;
  /** Random survival: a random prefix of every file's and directory's pending
   * operations survives, the last surviving write torn or zero-filled at random. */
  readonly prng?: Prng;
}

type FileOp = { readonly kind: 'write'; readonly position: number; readonly data: Uint8Array } | { readonly kind: 'truncate'; readonly length: number };

type DirOp =
  | { readonly kind: 'link'; readonly name: string; readonly inode: Inode }
  | { readonly kind: 'unlink'; readonly name: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string };

/**
 * File contents with spare capacity, so appending costs the appended bytes and not
 * a copy of the whole file (the WAL appends to files of many megabytes).
 */
class Bytes {
  private buffer: Uint8Array;
  length: number;

  constructor(initial: Uint8Array = new Uint8Array(0)) {
    this.buffer = new Uint8Array(Math.max(64, initial.length));
    this.buffer.set(initial);
    this.length = initial.length;
  }

  apply(op: FileOp): void {
    if (op.kind === 'truncate') {
      this.ensure(op.length);
      // Bytes past the old end read as zeros (the buffer may hold stale ones).
      if (op.length > this.length) this.buffer.fill(0, this.length, op.length);
      this.length = op.length;
      return;
    }
    const end = op.position + op.data.length;
    this.ensure(end);
    if (op.position > this.length) this.buffer.fill(0, this.length, op.position);
    this.buffer.set(op.data, op.position);
    this.length = Math.max(this.length, end);
  }

  flip(offset: number, bit: number): boolean {
    if (offset >= this.length) return false;
    this.buffer[offset] = (this.buffer[offset] as number) ^ (1 << bit);
    return true;
  }

  slice(start = 0, end = this.length): Uint8Array {
    return this.buffer.slice(start, Math.min(end, this.length));
  }

  /** The bytes copied into the front of `target` (at least this long); a view of them there. */
  copyInto(target: Uint8Array): Uint8Array {
    target.set(this.buffer.subarray(0, this.length));
    return target.subarray(0, this.length);
  }

  clone(): Bytes {
    return new Bytes(this.buffer.subarray(0, this.length));
  }

  private ensure(size: number): void {
    if (size <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(size, this.buffer.length * 2));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
}

class Inode {
  durable = new Bytes();
  current = new Bytes();
  pending: FileOp[] = [];
}

class Directory {
  durable = new Map<string, Inode>();
  current = new Map<string, Inode>();
  pending: DirOp[] = [];
}

function applyDirOp(entries: Map<string, Inode>, op: DirOp): void {
  if (op.kind === 'link') entries.set(op.name, op.inode);
  else if (op.kind === 'unlink') entries.delete(op.name);
  else {
    const inode = entries.get(op.from);
    if (inode) {
      entries.set(op.to, inode);
      entries.delete(op.from);
    }
  }
}

export interface FaultStats {
  writes: number;
  durableWrites: number;
  datasyncs: number;
  syncs: number;
  dirSyncs: number;
}

export class FaultFileSystem implements FileSystem {
  private readonly dirs = new Map<string, Directory>([['/', new Directory()]]);
  /** Bumped by crash(): handles from an older generation belong to a dead process. */
  private generation = 0;
  private countdown: number | undefined;
  private frozen = false;
  private readonly syncFailures: (string | undefined)[] = [];
  /** The newest unsynced write anywhere, for CrashOptions.lastWrite. */
  private newestWrite: { inode: Inode; op: FileOp } | undefined;
  readonly stats: FaultStats = { writes: 0, durableWrites: 0, datasyncs: 0, syncs: 0, dirSyncs: 0 };

  // -------------------------------------------------------------------------
  // Fault controls
  // -------------------------------------------------------------------------

  /**
   * Arms a power cut: the `n`-th mutating call from now (1 = the next one) is
   * interrupted. A write that is interrupted still lands in the page cache (so
   * crash() may keep it torn); any other call does not happen. From then on every
   * call throws PowerCutError until crash().
   */
  crashAfter(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`crashAfter needs a positive integer, got ${n}`);
    this.countdown = n;
  }

  /** True once an armed power cut has fired (and crash() has not run yet). */
  get poweredOff(): boolean {
    return this.frozen;
  }

  /** The machine loses power and reboots: only durable state (plus what the options
   * let survive) remains, and every open handle is dead. */
  crash(options: CrashOptions = {}): void {
    const { prng, lastWrite } = options;
    const inodes = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      const keep = prng ? prng.int(dir.pending.length + 1) : 0;
      for (const op of dir.pending.slice(0, keep)) applyDirOp(dir.durable, op);
      dir.pending = [];
      dir.current = new Map(dir.durable);
      for (const inode of dir.durable.values()) inodes.add(inode);
    }
    const newest = this.newestWrite;
    for (const inode of inodes) {
      const content = inode.durable;
      if (prng) {
        const keep = prng.int(inode.pending.length + 1);
        inode.pending.slice(0, keep).forEach((op, i) => {
          const last = i === keep - 1;
          content.apply(last && op.kind === 'write' ? randomlyDamaged(op, prng) : op);
        });
      } else if (lastWrite && newest && newest.inode === inode && inode.pending[inode.pending.length - 1] === newest.op) {
        for (const op of inode.pending.slice(0, -1)) content.apply(op);
        const op = newest.op as FileOp & { kind: 'write' };
        const data =
          lastWrite.mode === 'tear' ? op.data.subarray(0, Math.max(0, Math.min(lastWrite.keepBytes, op.data.length))) : new Uint8Array(op.data.length);
        content.apply({ kind: 'write', position: op.position, data });
      }
      inode.current = content.clone();
      inode.pending = [];
    }
    this.newestWrite = undefined;
    this.generation += 1;
    this.frozen = false;
    this.countdown = undefined;
    this.syncFailures.length = 0;
  }

  /** The next sync (of `path`, or of anything) fails with FsyncError. */
  failNextSync(path?: string): void {
    this.syncFailures.push(path === undefined ? undefined : normalize(path));
  }

  /** Flips one bit of a file, on "disk" and in the cache alike (media corruption). */
  flipBit(path: string, offset: number, bit = 0): void {
    const inode = this.lookup(path);
    const onDisk = inode.durable.flip(offset, bit);
    const inCache = inode.current.flip(offset, bit);
    if (!onDisk && !inCache) throw new RangeError(`offset ${offset} is past the end of ${path}`);
  }

  /** Overwrites bytes of a file on "disk" and in the cache (for building damaged files). */
  scribble(path: string, offset: number, data: Uint8Array): void {
    const inode = this.lookup(path);
    inode.durable.apply({ kind: 'write', position: offset, data });
    inode.current.apply({ kind: 'write', position: offset, data });
  }

  /** The size of a file as the page cache sees it. */
  size(path: string): number {
    return this.lookup(path).current.length;
  }

  /** The size of a file as the disk holds it. */
  durableSize(path: string): number {
    return this.lookup(path).durable.length;
  }

  exists(path: string): boolean {
    const { dir, name } = this.split(path);
    return this.dirs.get(dir)?.current.has(name) === true || this.dirs.has(normalize(path));
  }

  // -------------------------------------------------------------------------
  // FileSystem
  // -------------------------------------------------------------------------

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    if (mode === 'create') this.mutating();
    else this.alive();
    const { dir, name } = this.split(path);
    const directory = this.directory(dir);
    let inode = directory.current.get(name);
    if (mode === 'create') {
      if (inode) throw new FaultFsError('EEXIST', `${path} exists`);
      inode = new Inode();
      directory.current.set(name, inode);
      directory.pending.push({ kind: 'link', name, inode });
    } else if (!inode) {
      throw new FaultFsError('ENOENT', `no such file ${path}`);
    }
    return new FaultFile(this, normalize(path), inode, mode !== 'read', this.generation);
  }

  async readFile(path: string, into?: Uint8Array): Promise<Uint8Array> {
    this.alive();
    const bytes = this.lookup(path).current;
    return into && into.length >= bytes.length ? bytes.copyInto(into) : bytes.slice();
  }

  async list(dir: string): Promise<string[]> {
    this.alive();
    const d = normalize(dir);
    const names = [...this.directory(d).current.keys()];
    for (const other of this.dirs.keys()) {
      if (other !== d && posix.dirname(other) === d) names.push(posix.basename(other));
    }
    return names.sort();
  }

  async rename(from: string, to: string): Promise<void> {
    this.mutating();
    const a = this.split(from);
    const b = this.split(to);
    if (a.dir !== b.dir) throw new FaultFsError('EXDEV', `rename across directories is not modelled (${from} -> ${to})`);
    const directory = this.directory(a.dir);
    if (!directory.current.has(a.name)) throw new FaultFsError('ENOENT', `no such file ${from}`);
    const op: DirOp = { kind: 'rename', from: a.name, to: b.name };
    applyDirOp(directory.current, op);
    directory.pending.push(op);
  }

  async unlink(path: string): Promise<void> {
    this.mutating();
    const { dir, name } = this.split(path);
    const directory = this.directory(dir);
    if (!directory.current.has(name)) throw new FaultFsError('ENOENT', `no such file ${path}`);
    directory.current.delete(name);
    directory.pending.push({ kind: 'unlink', name });
  }

  async syncDir(dir: string): Promise<void> {
    this.mutating();
    const d = normalize(dir);
    const directory = this.directory(d);
    this.stats.dirSyncs += 1;
    if (this.takeSyncFailure(d)) throw new FsyncError(d, 'directory fsync', new FaultFsError('EIO', 'injected'));
    directory.durable = new Map(directory.current);
    directory.pending = [];
  }

  async mkdirp(dir: string): Promise<void> {
    this.mutating();
    let d = normalize(dir);
    while (!this.dirs.has(d)) {
      this.dirs.set(d, new Directory());
      d = posix.dirname(d);
    }
  }

  // -------------------------------------------------------------------------
  // Used by FaultFile
  // -------------------------------------------------------------------------

  /** @internal */
  fileWrite(file: FaultFile, op: FileOp): void {
    const interrupted = this.tick();
    this.pendingWrite(file.inode, op);
    if (interrupted) this.powerCut();
  }

  private fileWriteInterrupted(inode: Inode, op: FileOp): never {
    this.pendingWrite(inode, op);
    this.powerCut();
  }

  private pendingWrite(inode: Inode, op: FileOp): void {
    inode.current.apply(op);
    inode.pending.push(op);
    if (op.kind === 'write') {
      this.stats.writes += 1;
      this.newestWrite = { inode, op };
    }
  }

  /** @internal */
  fileWriteDurably(file: FaultFile, op: FileOp & { kind: 'write' }): void {
    // Cut short, it is a write that reached the page cache and not the disk.
    if (this.tick()) this.fileWriteInterrupted(file.inode, op);
    this.stats.durableWrites += 1;
    const inode = file.inode;
    inode.current.apply(op);
    this.failIfSyncFails(file, 'fdatasync');
    if (inode.pending.some((pending) => pending.kind === 'truncate')) {
      this.flushPending(inode);
    } else {
      const to = op.position + op.data.length;
      inode.pending = inode.pending.flatMap((pending) =>
        pending.kind === 'write' ? partsOutside(pending, op.position, to).map((part): FileOp => ({ kind: 'write', ...part })) : [pending],
      );
    }
    inode.durable.apply(op);
    if (this.newestWrite?.inode === inode && !inode.pending.includes(this.newestWrite.op)) this.newestWrite = undefined;
  }

  /** @internal */
  fileSync(file: FaultFile, operation: 'fsync' | 'fdatasync'): void {
    this.mutating();
    if (operation === 'fsync') this.stats.syncs += 1;
    else this.stats.datasyncs += 1;
    this.failIfSyncFails(file, operation);
    this.flushPending(file.inode);
  }

  /** An injected sync failure: writeback failed, the pages are marked clean without reaching the disk. */
  private failIfSyncFails(file: FaultFile, operation: 'fsync' | 'fdatasync'): void {
    if (!this.takeSyncFailure(file.path)) return;
    file.inode.pending = [];
    if (this.newestWrite?.inode === file.inode) this.newestWrite = undefined;
    throw new FsyncError(file.path, operation, new FaultFsError('EIO', 'injected'));
  }

  /** Every pending operation of the file reaches the disk. */
  private flushPending(inode: Inode): void {
    for (const op of inode.pending) inode.durable.apply(op);
    inode.pending = [];
    if (this.newestWrite?.inode === inode) this.newestWrite = undefined;
  }

  /** @internal */
  checkHandle(file: FaultFile): void {
    this.alive();
    if (file.generation !== this.generation) throw new FaultFsError('EBADF', `${file.path}: handle opened before a crash`);
  }

  // -------------------------------------------------------------------------

  private takeSyncFailure(path: string): boolean {
    const i = this.syncFailures.findIndex((p) => p === undefined || p === path);
    if (i < 0) return false;
    this.syncFailures.splice(i, 1);
    return true;
  }

  private alive(): void {
    if (this.frozen) throw new PowerCutError('the power is off (simulated crash); call crash() to reboot');
  }

  /** Counts a mutating call toward an armed power cut; true when this one is cut. */
  private tick(): boolean {
    this.alive();
    if (this.countdown === undefined) return false;
    this.countdown -= 1;
    return this.countdown === 0;
  }

  private mutating(): void {
    if (this.tick()) this.powerCut();
  }

  private powerCut(): never {
    this.frozen = true;
    this.countdown = undefined;
    throw new PowerCutError('power cut (simulated crash)');
  }

  private directory(dir: string): Directory {
    const directory = this.dirs.get(dir);
    if (!directory) throw new FaultFsError('ENOENT', `no such directory ${dir}`);
    return directory;
  }

  private split(path: string): { dir: string; name: string } {
    const p = normalize(path);
    return { dir: posix.dirname(p), name: posix.basename(p) };
  }

  private lookup(path: string): Inode {
    const { dir, name } = this.split(path);
    const inode = this.directory(dir).current.get(name);
    if (!inode) throw new FaultFsError('ENOENT', `no such file ${path}`);
    return inode;
  }
}

function normalize(path: string): string {
  return posix.resolve('/', path);
}

function randomlyDamaged(op: FileOp & { kind: 'write' }, prng: Prng): FileOp {
  const roll = prng.int(4);
  if (roll === 0) return { kind: 'write', position: op.position, data: op.data.subarray(0, prng.int(op.data.length + 1)) };
  if (roll === 1) return { kind: 'write', position: op.position, data: new Uint8Array(op.data.length) };
  return op;
}

class FaultFile implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: FaultFileSystem,
    readonly path: string,
    readonly inode: Inode,
    private readonly writable: boolean,
    readonly generation: number,
  ) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    this.check(true);
    this.fs.fileWrite(this, { kind: 'write', position, data: data.slice() });
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    return this.readSync(position, length);
  }

  readSync(position: number, length: number): Uint8Array {
    this.check(false);
    return this.inode.current.slice(position, position + length);
  }

  async size(): Promise<number> {
    this.check(false);
    return this.inode.current.length;
  }

  async truncate(length: number): Promise<void> {
    this.check(true);
    this.fs.fileWrite(this, { kind: 'truncate', length });
  }

  async allocate(bytes: number): Promise<void> {
    this.check(true);
    if (bytes > this.inode.current.length) this.fs.fileWrite(this, { kind: 'truncate', length: bytes });
  }

  async writeDurably(data: Uint8Array, position: number): Promise<void> {
    this.check(true);
    this.fs.fileWriteDurably(this, { kind: 'write', position, data: data.slice() });
  }

  async datasync(): Promise<void> {
    this.check(false);
    this.fs.fileSync(this, 'fdatasync');
  }

  async sync(): Promise<void> {
    this.check(false);
    this.fs.fileSync(this, 'fsync');
  }

  async close(): Promise<void> {
    // Closing after a crash is harmless (the process that held it is gone anyway).
    this.closed = true;
  }

  private check(write: boolean): void {
    if (this.closed) throw new FaultFsError('EBADF', `${this.path}: handle is closed`);
    this.fs.checkHandle(this);
    if (write && !this.writable) throw new FaultFsError('EBADF', `${this.path}: opened read-only`);
  }
}

/** The parts of a write that lie outside the bytes [from, to): none, one or two. */
export function partsOutside(
  write: { readonly position: number; readonly data: Uint8Array },
  from: number,
  to: number,
): { position: number; data: Uint8Array }[] {
  const start = write.position;
  const end = start + write.data.length;
  if (end <= from || start >= to) return [write];
  const parts: { position: number; data: Uint8Array }[] = [];
  if (start < from) parts.push({ position: start, data: write.data.subarray(0, from - start) });
  if (end > to) parts.push({ position: to, data: write.data.subarray(to - start) });
  return parts;
}
