/**
 * The meta table's keys: the store's own state (applied index, revision, compaction,
 * clock, format), kept in the same transactions as the data it describes, so a snapshot
 * of the tables carries it. Values are varints.
 */
import { ByteReader, ByteWriter } from '../../lib/index.js';
import type { Table } from '../env/kv-env.js';

export const META = {
  format: 'format',
  applied: 'applied',
  revision: 'revision',
  compacted: 'compacted',
  clock: 'clock-ms',
  compactTarget: 'compact-target',
  compactCursor: 'compact-cursor',
  /** The applied index the latest index (latest-index.ts) was last kept up to date at. */
  latestApplied: 'latest-applied',
  /** The member metadata (members.ts), absent until the first membership change. */
  members: 'members',
} as const;

export const metaKey = (name: string): Buffer => Buffer.from(name, 'latin1');

export function uintBytes(value: number): Uint8Array {
  return new ByteWriter(10).varint(value).finish();
}

export function decodeUint(data: Uint8Array): number {
  const r = new ByteReader(data);
  const value = r.varint();
  r.end();
  return value;
}

export function readUint(meta: Table, name: string): number | undefined {
  const data = meta.get(metaKey(name));
  return data === undefined ? undefined : decodeUint(data);
}
