/**
 * What a power cut can leave at the end of a node's WAL besides the records it had
 * synced: part of a record being written (torn: random bytes). It is
 * unacknowledged by construction, and recovery must cut it off, say so, and lose
 * nothing synced.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Prng } from '../lib/index.js';
import { scanRecords } from '../storage/index.js';

/** The newest WAL segment of the node whose data directory is `dataDir`. */
export async function newestSegment(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'raft', 'wal');
  const segments = (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
  const newest = segments.at(-1);
  if (newest === undefined) throw new Error(`no WAL segment in ${dir}`);
  return join(dir, newest);
}

/**
 * Where the newest segment's records end: segment files are preallocated
 * (storage/segment-preparer.ts), so past the records they hold only zeros. (Not the
 * last non-zero byte: a record may end in zeros.)
 */
function recordsEnd(bytes: Uint8Array): number {
  return scanRecords(bytes).goodBytes;
}

/**
 * Writes a torn record (random bytes) right after the newest segment's records, in
 * its preallocated space, as a write cut short by the power going would leave it;
 * returns what it did. (A write whose data never landed leaves zeros, which recovery
 * takes for unused space: nothing to cut, covered by the storage unit tests.)
 */
export async function tearTail(dataDir: string, random: Prng): Promise<string> {
  const path = await newestSegment(dataDir);
  const bytes = await readFile(path);
  const at = recordsEnd(bytes);
  const length = Math.min(1 + random.int(300), bytes.length - at);
  for (let i = 0; i < length; i++) bytes[at + i] = 1 + random.int(255);
  await writeFile(path, bytes);
  return `torn tail of ${length} bytes at offset ${at} of ${path}`;
}

/**
 * Flips one bit in the first half of the newest segment's records (good records
 * follow it): damage no crash explains, which the node must refuse to start on.
 */
export async function flipBitMidLog(dataDir: string, random: Prng): Promise<{ path: string; offset: number }> {
  const path = await newestSegment(dataDir);
  const bytes = await readFile(path);
  const end = recordsEnd(bytes);
  if (end < 256) throw new Error(`${path} holds too few bytes (${end}) to damage in the middle`);
  const offset = 64 + random.int(Math.floor(end / 2) - 64);
  bytes[offset] = (bytes[offset] as number) ^ (1 << random.int(8));
  await writeFile(path, bytes);
  return { path, offset };
}
