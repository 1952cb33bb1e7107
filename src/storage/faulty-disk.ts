/**
 * Disk faults for a real node (started with fault injection), on top of the real file
 * system, driven at run time through the admin API:
 *
 *   - fsync stalls: every datasync/sync waits `fsyncDelayMs` more, as on a disk
 *     that has stopped answering for a while (a saturated device, a stalled SAN);
 *   - power loss (a start-time choice): written bytes reach the real file only at
 *     datasync/sync, so a kill -9 loses exactly what a power cut would lose of file
 *     contents — everything not synced. The flush writes in small pieces, so a kill
 *     that lands during it leaves a torn last write, as a power cut can.
 *
 * Limits of the model, on purpose: directory entries (creations, renames) are real
 * at once, not held back until syncDir; and the key-value store (LMDB) writes
 * through its own files, not this layer (the WAL is the source of truth it replays).
 * The deterministic FaultFileSystem (fault-file-system.ts) covers those cases in
 * memory.
 */
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';
import { ForwardingFileSystem } from './forwarding-file-system.js';
import { partsOutside } from './fault-file-system.js';

export interface DiskFaults {
  readonly fsyncDelayMs: number;
  readonly holdUnsyncedWrites: boolean;
}

export const fsyncDelayMsMax = 60_000;
/** Bytes per real write when held writes are flushed: small, so a kill can tear one. */
const flushPieceBytes = 512;

export class FaultyDisk extends ForwardingFileSystem {
  fsyncDelayMs = 0;

  constructor(
    inner: FileSystem,
    readonly holdUnsyncedWrites: boolean,
  ) {
    super(inner);
  }

  get state(): DiskFaults {
    return { fsyncDelayMs: this.fsyncDelayMs, holdUnsyncedWrites: this.holdUnsyncedWrites };
  }

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    return this.holdUnsyncedWrites ? new HeldWritesFile(handle, this) : new StallingFile(handle, this);
  }

  override async syncDir(dir: string): Promise<void> {
    await this.stall();
    await this.inner.syncDir(dir);
  }

  async stall(): Promise<void> {
    if (this.fsyncDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.fsyncDelayMs));
  }
}

/** A real file whose syncs stall while the disk says so. */
class StallingFile implements FileHandle {
  constructor(
    protected readonly inner: FileHandle,
    protected readonly disk: FaultyDisk,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  write(data: Uint8Array, position: number): Promise<void> {
    return this.inner.write(data, position);
  }

  read(position: number, length: number): Promise<Uint8Array> {
    return this.inner.read(position, length);
  }

  readSync(position: number, length: number): Uint8Array {
    return this.inner.readSync(position, length);
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  truncate(length: number): Promise<void> {
    return this.inner.truncate(length);
  }

  allocate(bytes: number): Promise<void> {
    return this.inner.allocate(bytes);
  }

  async writeDurably(data: Uint8Array, position: number): Promise<void> {
    await this.disk.stall();
    await this.inner.writeDurably(data, position);
  }

  async datasync(): Promise<void> {
    await this.disk.stall();
    await this.inner.datasync();
  }

  async sync(): Promise<void> {
    await this.disk.stall();
    await this.inner.sync();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Writes wait in memory until a sync; reads and the size see them (as the page cache would). */
class HeldWritesFile extends StallingFile {
  private held: { data: Uint8Array; position: number }[] = [];

  override async write(data: Uint8Array, position: number): Promise<void> {
    this.held.push({ data: data.slice(), position });
  }

  override async read(position: number, length: number): Promise<Uint8Array> {
    return this.withHeld(await this.inner.read(position, length), position, length);
  }

  override readSync(position: number, length: number): Uint8Array {
    return this.withHeld(this.inner.readSync(position, length), position, length);
  }

  /** What the file holds at [position, position + length): `written` (its bytes on the inner file) overlaid with the held writes. */
  private withHeld(written: Uint8Array, position: number, length: number): Uint8Array {
    const heldEnd = Math.max(0, ...this.held.map((w) => w.position + w.data.length));
    const out = new Uint8Array(Math.max(written.length, Math.min(length, heldEnd - position)));
    out.set(written);
    for (const w of this.held) {
      const from = Math.max(w.position, position);
      const to = Math.min(w.position + w.data.length, position + out.length);
      if (from < to) out.set(w.data.subarray(from - w.position, to - w.position), from - position);
    }
    return out;
  }

  override async size(): Promise<number> {
    return Math.max(await this.inner.size(), ...this.held.map((w) => w.position + w.data.length));
  }

  override async truncate(length: number): Promise<void> {
    await this.flush();
    await this.inner.truncate(length);
  }

  override async allocate(bytes: number): Promise<void> {
    await this.flush();
    await this.inner.allocate(bytes);
  }

  /** Its own bytes reach the file durably; held writes it covers are superseded, the others stay held. */
  override async writeDurably(data: Uint8Array, position: number): Promise<void> {
    this.held = this.held.flatMap((w) => partsOutside(w, position, position + data.length));
    await super.writeDurably(data, position);
  }

  override async datasync(): Promise<void> {
    await this.flush();
    await super.datasync();
  }

  override async sync(): Promise<void> {
    await this.flush();
    await super.sync();
  }

  override async close(): Promise<void> {
    // A running system writes closed files back eventually; only a crash loses them.
    await this.flush();
    await this.inner.close();
  }

  private async flush(): Promise<void> {
    const held = this.held;
    this.held = [];
    for (const w of held) {
      for (let offset = 0; offset < w.data.length; offset += flushPieceBytes) {
        await this.inner.write(w.data.subarray(offset, offset + flushPieceBytes), w.position + offset);
      }
    }
  }
}
