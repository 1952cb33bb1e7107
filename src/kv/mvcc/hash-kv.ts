/**
 * HashKV: a hash of the key space's history up to a revision, equal on every replica
 * that has applied the same revision, for detecting a replica whose data diverged
 * (etcd's Maintenance.HashKV, which hashes its bolt "key" bucket up to the revision).
 *
 * What it covers: the observable history. For each user key, in key order, and within
 * it in revision order:
 *   - every record (a put or a tombstone) with a revision in (compacted, revision];
 *   - the key's latest record at or before `compacted`, if it is a put (a read at the
 *     compacted revision still sees it).
 * Records that compaction has made invisible are left out even when physical
 * compaction (compaction.ts, which runs in steps over later entries) has not removed
 * them yet, so two replicas at one revision agree whatever their compaction progress.
 * The session table, the alarms and the applied index are not covered: they are not
 * part of the key space, and the applied index differs between replicas at one
 * revision (a compaction or an alarm moves the index, not the revision).
 *
 * How: SHA-256 over each covered record as [u32 length, LMDB key (encoded user key and
 * revision), u32 length, record bytes (record.ts: create revision, version, lease,
 * value, or a tombstone)], big-endian lengths; the hash is the digest's first 4 bytes
 * read as a big-endian uint32 (etcd's field is a uint32). The hash therefore depends
 * on this store's record format: compare hashes between nodes of one version.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Table } from '../env/kv-env.js';
import { REVISION_BYTES, revisionOfHistoryKey } from '../codec/key-encoding.js';
import { isTombstone } from './record.js';

export interface KvHash {
  readonly hash: number;
  /** The revision hashed up to (etcd's hash_revision). */
  readonly revision: number;
  /** The store's compacted revision when hashed (etcd's compact_revision). */
  readonly compactRevision: number;
}

/** The caller checks that compacted <= revision <= the store's revision. */
export function hashKv(history: Table, revision: number, compacted: number): KvHash {
  const digest = createHash('sha256');
  let runKey: Buffer | undefined;
  let kept: { key: Buffer; value: Buffer } | undefined;
  const flushKept = (): void => {
    if (kept && !isTombstone(kept.value)) addRecord(digest, kept.key, kept.value);
    kept = undefined;
  };
  for (const { key, value } of history.getRange({})) {
    const encodedKey = key.subarray(0, key.length - REVISION_BYTES);
    if (runKey === undefined || !encodedKey.equals(runKey)) {
      flushKept();
      runKey = encodedKey;
    }
    const recordRevision = revisionOfHistoryKey(key);
    if (recordRevision <= compacted) {
      kept = { key, value };
      continue;
    }
    flushKept();
    if (recordRevision <= revision) addRecord(digest, key, value);
  }
  flushKept();
  return { hash: digest.digest().readUInt32BE(0), revision, compactRevision: compacted };
}

function addRecord(digest: Hash, key: Uint8Array, value: Uint8Array): void {
  const lengths = Buffer.allocUnsafe(4);
  lengths.writeUInt32BE(key.length);
  digest.update(lengths).update(key);
  lengths.writeUInt32BE(value.length);
  digest.update(lengths).update(value);
}
