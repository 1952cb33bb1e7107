/**
 * The free space of the data directory's file system, watched rather than discovered.
 *
 * A store that learns the disk is full from a failed write learns it too late: the
 * write may be half done (a torn WAL record, an LMDB page it cannot place), and a
 * process that cannot persist must stop (an fsync error is fatal). So the node reads
 * the free space every `diskCheckMs` and keeps a reserve: below `diskReserveBytes`
 * it stops taking writes that add data and raises the NOSPACE alarm through the log
 * (kv/alarms.ts), so every member refuses them from the same index on, while the
 * reserve still holds what the refusal itself costs (alarm entries, deletes,
 * compaction, snapshots of a store that no longer grows).
 *
 * The alarm is lifted by the node that raised it once the disk has at least twice the
 * reserve free again (hysteresis: a disk hovering at the reserve would otherwise
 * flap). Unlike the storage quota, whose cure is an operator's compaction and
 * defragmentation, free space is a fact the node keeps measuring: nothing is gained by
 * staying read-only once it is back, and an operator who freed space on a bad day
 * should not also have to know to disarm.
 */
import { statfs } from 'node:fs/promises';

export interface DiskSpaceOptions {
  readonly dir: string;
  readonly reserveBytes: number;
  readonly checkMs: number;
  /** Called after each reading; `low` and `recovered` tell what it found. */
  readonly onReading: () => void;
  readonly onError: (error: unknown) => void;
}

/** Bytes an unprivileged process may still write on the file system holding `dir`. */
export async function freeBytesAt(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

export class DiskSpaceWatch {
  private freeBytesSeen: number;
  private lowSeen: boolean;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  private constructor(
    private readonly options: DiskSpaceOptions,
    freeBytes: number,
  ) {
    this.freeBytesSeen = freeBytes;
    this.lowSeen = freeBytes < options.reserveBytes;
  }

  /** Reads the free space once, then keeps reading it every `checkMs`. */
  static async start(options: DiskSpaceOptions): Promise<DiskSpaceWatch> {
    const watch = new DiskSpaceWatch(options, await freeBytesAt(options.dir));
    watch.timer = setInterval(() => void watch.check(), options.checkMs);
    watch.timer.unref();
    return watch;
  }

  /** Free bytes at the last reading. */
  get freeBytes(): number {
    return this.freeBytesSeen;
  }

  /** Below the reserve at the last reading: writes that add data are refused. */
  get low(): boolean {
    return this.lowSeen;
  }

  /** Free space is back to twice the reserve: an alarm raised for the disk may be lifted. */
  get recovered(): boolean {
    return this.freeBytesSeen >= 2 * this.options.reserveBytes;
  }

  get reserveBytes(): number {
    return this.options.reserveBytes;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      this.freeBytesSeen = await freeBytesAt(this.options.dir);
      this.lowSeen = this.freeBytesSeen < this.options.reserveBytes;
      this.options.onReading();
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.reading = false;
    }
  }
}
