/**
 * What `keel repair` does to a WAL that refuses to open: the operator's explicit
 * choice to lose everything from the first damaged record on. It truncates the
 * damaged segment at the offset WalCorruptionError named and removes every newer
 * segment. Nothing is guessed: damage that has no single cut point (a missing
 * segment, a log that does not reach its snapshot) is left for a human.
 */
import { posix } from 'node:path';
import type { FileSystem } from './file-system.js';
import { WalCorruptionError } from './errors.js';
import { Wal } from './wal.js';
import { parseSegmentName } from './wal-segments.js';
import { dataEnd } from './segment-reader.js';

export interface WalRepair {
  readonly file: string;
  readonly offset: number;
  readonly droppedBytes: number;
  readonly removedSegments: readonly string[];
  readonly error: string;
}

/** Repairs the first damage found; undefined if the WAL opens as it is. Run it
 * again until it returns undefined: each call fixes one cut point. */
export async function repairWal(options: { fs: FileSystem; dir: string; log?: (msg: string) => void }): Promise<WalRepair | undefined> {
  const { fs, dir } = options;
  const log = options.log ?? ((msg: string) => console.warn(msg));
  let damage: WalCorruptionError;
  try {
    const { wal } = await Wal.open({ fs, dir, log });
    await wal.close();
    return undefined;
  } catch (error) {
    if (!(error instanceof WalCorruptionError)) throw error;
    damage = error;
  }
  const { file, offset } = damage;
  const target = file === undefined ? undefined : parseSegmentName(file);
  if (file === undefined || offset === undefined || !target) {
    throw new Error(`keel repair cannot fix this automatically (no single cut point): ${damage.message}`, { cause: damage });
  }
  const path = posix.join(dir, file);
  const handle = await fs.open(path, 'write');
  let droppedBytes: number;
  try {
    droppedBytes = Math.max(0, dataEnd(await fs.readFile(path)) - offset);
    await handle.truncate(offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const removedSegments: string[] = [];
  // Newest first, so a crash part-way never leaves a gap in the sequence.
  const newer = (await fs.list(dir))
    .filter((n) => (parseSegmentName(n)?.seq ?? 0) > target.seq)
    .sort()
    .reverse();
  for (const name of newer) {
    await fs.unlink(posix.join(dir, name));
    removedSegments.push(name);
  }
  await fs.syncDir(dir);
  log(
    `keel repair: truncated ${file} at offset ${offset} (${droppedBytes} bytes dropped)${removedSegments.length ? ` and removed ${removedSegments.length} newer segment(s): ${removedSegments.join(', ')}` : ''}`,
  );
  return { file, offset, droppedBytes, removedSegments, error: damage.message };
}
