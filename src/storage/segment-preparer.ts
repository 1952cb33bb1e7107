/**
 * The next WAL segment, made ready in the background while the current one fills:
 * a file with its whole size reserved on the device (FileHandle.allocate) and
 * synced, waiting under a temporary name until the WAL cuts to it.
 *
 * Why: with the space reserved up front, a full disk shows up here, when a segment
 * is prepared, as a clear error between two records, and never as a failed write in
 * the middle of one. Preparing ahead keeps that work off the write path: the cut
 * only writes the header and renames the file. The reserved tail reads as zeros,
 * which the segment reader takes for unused space (segment-reader.ts).
 */
import { posix } from 'node:path';
import type { FileSystem } from './file-system.js';
import { isNotFound } from './file-system.js';
import { WalSpaceError } from './errors.js';

/** The prepared file's name: not a segment name, so a crash leaves nothing a replay reads. */
export const PREPARED_SEGMENT_NAME = 'next-segment.tmp';

export class SegmentPreparer {
  private prepared: Promise<string> | undefined;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  /** Starts preparing the next segment, unless one is already on its way. */
  start(): void {
    if (this.prepared) return;
    this.prepared = this.prepare();
    // The failure is reported to whoever takes the segment, not here.
    this.prepared.catch(() => undefined);
  }

  /** The path of a prepared segment file, now the caller's; the next one is not started. */
  async take(): Promise<string> {
    this.start();
    const prepared = this.prepared as Promise<string>;
    this.prepared = undefined;
    return prepared;
  }

  /** Resolves once no preparation is running (for a clean close). */
  async settled(): Promise<void> {
    await this.prepared?.catch(() => undefined);
  }

  private async prepare(): Promise<string> {
    const path = posix.join(this.dir, PREPARED_SEGMENT_NAME);
    // A crash may have left one half made; it holds nothing of the log.
    await this.fs.unlink(path).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    const handle = await this.fs.open(path, 'create');
    try {
      await handle.allocate(this.segmentBytes);
      await handle.datasync();
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOSPC') throw new WalSpaceError(this.dir, this.segmentBytes, error);
      throw error;
    } finally {
      await handle.close();
    }
    return path;
  }
}
