/**
 * The records of etcd's store (its mvcc and lease buckets), as Keel writes and reads
 * them when it moves data to or from an etcd snapshot:
 *   - bucket "key": revision -> mvccpb.KeyValue, where the revision is 17 bytes (main
 *     u64 big-endian, '_', sub u64 big-endian: the change's place within its
 *     revision) and a deletion's revision ends in one more byte, 't', with a
 *     KeyValue holding only the key;
 *   - bucket "meta": "finishedCompactRev" and "scheduledCompactRev" -> the compacted
 *     revision (17 bytes as above), "consistent_index" -> u64 big-endian;
 *   - bucket "lease": lease id (u64 big-endian) -> leasepb.Lease {ID, TTL}.
 * The protobuf messages are declared here with their published field numbers.
 */
import protobuf from 'protobufjs';
import type { KeyValue } from '../types.js';

const REVISION_BYTES = 17;
const TOMBSTONE_MARK = 0x74; // 't'

const keyValueType = new protobuf.Type('KeyValue')
  .add(new protobuf.Field('key', 1, 'bytes'))
  .add(new protobuf.Field('create_revision', 2, 'int64'))
  .add(new protobuf.Field('mod_revision', 3, 'int64'))
  .add(new protobuf.Field('version', 4, 'int64'))
  .add(new protobuf.Field('value', 5, 'bytes'))
  .add(new protobuf.Field('lease', 6, 'int64'));
const leaseType = new protobuf.Type('Lease')
  .add(new protobuf.Field('ID', 1, 'int64'))
  .add(new protobuf.Field('TTL', 2, 'int64'))
  .add(new protobuf.Field('RemainingTTL', 3, 'int64'));
new protobuf.Root().define('mvccpb').add(keyValueType);
new protobuf.Root().define('leasepb').add(leaseType);

export interface EtcdRevision {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
}

export function encodeRevision(main: number, sub: number, tombstone = false): Uint8Array {
  const bytes = new Uint8Array(REVISION_BYTES + (tombstone ? 1 : 0));
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(main));
  bytes[8] = 0x5f; // '_'
  view.setBigUint64(9, BigInt(sub));
  if (tombstone) bytes[REVISION_BYTES] = TOMBSTONE_MARK;
  return bytes;
}

export function decodeRevision(bytes: Uint8Array): EtcdRevision | undefined {
  if ((bytes.length !== REVISION_BYTES && bytes.length !== REVISION_BYTES + 1) || bytes[8] !== 0x5f) return undefined;
  if (bytes.length === REVISION_BYTES + 1 && bytes[REVISION_BYTES] !== TOMBSTONE_MARK) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const main = view.getBigUint64(0);
  const sub = view.getBigUint64(9);
  if (main > BigInt(Number.MAX_SAFE_INTEGER) || sub > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { main: Number(main), sub: Number(sub), tombstone: bytes.length > REVISION_BYTES };
}

export function encodeU64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}

/** A put's record; zero fields are left out, as etcd's encoder does. */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const message: Record<string, unknown> = { key: kv.key };
  if (kv.createRevision) message['create_revision'] = kv.createRevision;
  if (kv.modRevision) message['mod_revision'] = kv.modRevision;
  if (kv.version) message['version'] = kv.version;
  if (kv.value.length > 0) message['value'] = kv.value;
  if (kv.lease) message['lease'] = kv.lease;
  return keyValueType.encode(keyValueType.fromObject(message)).finish();
}

/** A deletion's record: the key alone. */
export function encodeTombstone(key: Uint8Array): Uint8Array {
  return keyValueType.encode(keyValueType.fromObject({ key })).finish();
}

/** A record as etcd wrote it: its lease id may be past 2^53 (etcd draws them at random), so it is a bigint. */
export interface EtcdRecord extends Omit<KeyValue, 'lease'> {
  readonly lease: bigint;
}

export function decodeKeyValue(bytes: Uint8Array): EtcdRecord {
  const message = keyValueType.toObject(keyValueType.decode(bytes), { longs: String, bytes: Uint8Array, defaults: true }) as {
    key: Uint8Array;
    create_revision: string;
    mod_revision: string;
    version: string;
    value: Uint8Array;
    lease: string;
  };
  return {
    key: message.key,
    createRevision: safeInteger(message.create_revision, 'create_revision'),
    modRevision: safeInteger(message.mod_revision, 'mod_revision'),
    version: safeInteger(message.version, 'version'),
    value: message.value,
    lease: BigInt(message.lease),
  };
}

function safeInteger(text: string, field: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`an etcd record's ${field} is ${text}, past what Keel can hold (0 to 2^53 - 1)`);
  return value;
}

export function encodeLease(id: number, ttlSeconds: number): Uint8Array {
  return leaseType.encode(leaseType.fromObject({ ID: id, TTL: ttlSeconds })).finish();
}

export function decodeLease(bytes: Uint8Array): { readonly id: bigint; readonly ttlSeconds: number } {
  const message = leaseType.toObject(leaseType.decode(bytes), { longs: String, defaults: true }) as { ID: string; TTL: string };
  return { id: BigInt(message.ID), ttlSeconds: safeInteger(message.TTL, 'TTL') };
}

/** A big-endian u64 as a bigint (lease ids), or undefined if it is not 8 bytes. */
export function decodeU64Big(bytes: Uint8Array): bigint | undefined {
  return bytes.length === 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0) : undefined;
}
