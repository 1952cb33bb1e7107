/**
 * The value stored for one key at one revision in the history table: either the key's
 * state after a put, or a tombstone saying the key was deleted at that revision. The key
 * and the revision are in the LMDB key (key-encoding.ts), so a record holds the rest:
 *
 *   put       = 0x00 createRevision:varint version:varint lease:varint value:raw (to the end)
 *   tombstone = 0x01
 */
import { ByteReader, ByteWriter, assert } from '../../lib/index.js';
import type { KeyValue } from '../types.js';

export interface PutRecord {
  readonly tombstone: false;
  readonly createRevision: number;
  readonly version: number;
  readonly lease: number;
  readonly value: Uint8Array;
}

export interface TombstoneRecord {
  readonly tombstone: true;
}

export type StoredRecord = PutRecord | TombstoneRecord;

const PUT = 0;
const TOMBSTONE = 1;
const TOMBSTONE_BYTES = new Uint8Array([TOMBSTONE]);

/**
 * A put's record. Written into `into` (emptied first) if given, and then a view of it,
 * valid until its next write: for a record handed to Table.putSync, which copies it.
 */
export function encodePutRecord(record: Omit<PutRecord, 'tombstone'>, into?: ByteWriter): Uint8Array {
  const w = into?.reset() ?? new ByteWriter(16 + record.value.length);
  w.u8(PUT).varint(record.createRevision).varint(record.version).varint(record.lease).raw(record.value);
  return into ? w.written() : w.finish();
}

export function encodeTombstone(): Uint8Array {
  return TOMBSTONE_BYTES;
}

export function isTombstone(data: Uint8Array): boolean {
  assert(data.length > 0, 'empty history record');
  return data[0] === TOMBSTONE;
}

/** Decodes a record; `withValue` false skips copying the value (keys-only and count reads). */
export function decodeRecord(data: Uint8Array, withValue = true): StoredRecord {
  const r = new ByteReader(data);
  const kind = r.u8();
  if (kind === TOMBSTONE) {
    assert(r.remaining === 0, 'tombstone record with trailing bytes');
    return { tombstone: true };
  }
  assert(kind === PUT, () => `unknown history record kind ${kind}`);
  const createRevision = r.varint();
  const version = r.varint();
  const lease = r.varint();
  const value = withValue ? r.raw(r.remaining) : new Uint8Array(0);
  return { tombstone: false, createRevision, version, lease, value };
}

export function toKeyValue(key: Uint8Array, modRevision: number, record: PutRecord): KeyValue {
  return {
    key,
    createRevision: record.createRevision,
    modRevision,
    version: record.version,
    value: record.value,
    lease: record.lease,
  };
}
