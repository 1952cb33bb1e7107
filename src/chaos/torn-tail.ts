/**
 * What a power cut can leave at the end of a node's WAL besides the records it had
 * synced: part of a record being written (torn: random bytes) or a tail that the
 * file system extended but never filled (zeros). Both are unacknowledged by
 * construction, and recovery must cut them off, say so, and lose nothing synced.
 */
import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Prng } from '../lib/prng.js';

/** The newest WAL segment of the node whose data directory is `dataDir`. */
export async function newestSegment(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'raft', 'wal');
  const segments = (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
  const newest = segments.at(-1);
  if (newest === undefined) throw new Error(`no WAL segment in ${dir}`);
  return join(dir, newest);
}

/** Appends a torn or zero-filled tail to the newest segment; returns what it did. */
export async function tearTail(dataDir: string, random: Prng): Promise<string> {
  const path = await newestSegment(dataDir);
  const length = 1 + random.int(300);
  const zeros = random.chance(0.5);
  const bytes = new Uint8Array(length);
  if (!zeros) for (let i = 0; i < length; i++) bytes[i] = random.int(256);
  await appendFile(path, bytes);
  return `${zeros ? 'zero-filled' : 'torn'} tail of ${length} bytes on ${path}`;
}

/**
 * Flips one bit in the first half of the newest segment (good records follow it):
 * damage no crash explains, which the node must refuse to start on.
 */
export async function flipBitMidLog(dataDir: string, random: Prng): Promise<{ path: string; offset: number }> {
  const path = await newestSegment(dataDir);
  const bytes = await readFile(path);
  if (bytes.length < 256) throw new Error(`${path} is too short (${bytes.length} bytes) to damage in the middle`);
  const offset = 64 + random.int(Math.floor(bytes.length / 2) - 64);
  bytes[offset] = (bytes[offset] as number) ^ (1 << random.int(8));
  await writeFile(path, bytes);
  return { path, offset };
}
