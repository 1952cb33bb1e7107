/**
 * A Keel store as an etcd snapshot: a bolt database file (../bolt/) with etcd's buckets
 * (etcd-records.ts), followed by the SHA-256 of the file, as `etcdctl snapshot save`
 * writes it. `etcdctl snapshot status` reads it and `etcdctl snapshot restore` makes an
 * etcd data directory of it, so data moves from Keel to etcd with etcd's own tools.
 *
 * What etcd gets: every key's versions still in the history (the keys live at the
 * compacted revision, then every change after it, at the same revisions, with their
 * create revision, version and lease) and the compacted revision; the leases with their
 * TTLs. What it does not: users and roles (Keel keeps scrypt password hashes, which etcd
 * cannot check: create them again), alarms and members (a restore makes new members).
 *
 * The file also carries Keel's own snapshot (kv/snapshot-format.ts) whole, in a bucket
 * of its own that etcd never reads, so `keel snapshot restore` of such a file is exact:
 * sessions, auth and all.
 */
import { createHash } from 'node:crypto';
import type { BoltBucket, BoltEntry } from '../bolt/bolt-layout.js';
import { writeBoltFile } from '../bolt/bolt-writer.js';
import type { MvccStore } from '../mvcc/mvcc-store.js';
import type { KeyValue } from '../types.js';
import { encodeKeyValue, encodeLease, encodeRevision, encodeTombstone, encodeU64 } from './etcd-records.js';

/** The bucket that carries Keel's own snapshot, in chunks keyed by their number (u64 big-endian). */
export const KEEL_BUCKET = 'keel';
const KEEL_CHUNK_BYTES = 1024 * 1024;
/** Buckets etcd 3.4 opens at start; present, if empty, so its tools find what they expect. */
const EMPTY_ETCD_BUCKETS = ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'members', 'members_removed'];
const ALL_KEYS = new Uint8Array([0]);
/** Bounds on one read of the history while exporting (change-reader.ts). */
const CHANGES_RECORDS_MAX = 10_000;
const CHANGES_BYTES_MAX = 64 * 1024 * 1024;

/**
 * The etcd snapshot of `store`, which must be at the state `keelSnapshot` was taken at
 * (the caller takes both without an apply in between, or exports from a store restored
 * from that snapshot).
 */
export function exportEtcdSnapshot(store: MvccStore, keelSnapshot: Uint8Array): Uint8Array {
  const buckets: BoltBucket[] = [
    { name: 'key', entries: keyRecords(store) },
    { name: 'meta', entries: metaRecords(store) },
    { name: 'lease', entries: store.leases().map((lease) => ({ key: encodeU64(lease.id), value: encodeLease(lease.id, lease.ttl) })) },
    { name: KEEL_BUCKET, entries: chunks(keelSnapshot) },
    ...EMPTY_ETCD_BUCKETS.map((name) => ({ name, entries: [] })),
  ];
  const file = writeBoltFile(buckets);
  const withHash = new Uint8Array(file.length + 32);
  withHash.set(file);
  withHash.set(createHash('sha256').update(file).digest(), file.length);
  return withHash;
}

function keyRecords(store: MvccStore): BoltEntry[] {
  const records: BoltEntry[] = [];
  const compacted = store.compactedRevision();
  if (compacted > 0) {
    // Compaction left each key's version at the compacted revision; etcd keeps exactly those.
    const live = unwrap(store.range({ type: 'range', key: ALL_KEYS, rangeEnd: ALL_KEYS, revision: compacted })).kvs;
    const byRevision = new Map<number, KeyValue[]>();
    for (const kv of live) byRevision.set(kv.modRevision, [...(byRevision.get(kv.modRevision) ?? []), kv]);
    for (const [revision, kvs] of byRevision) kvs.forEach((kv, sub) => records.push({ key: encodeRevision(revision, sub), value: encodeKeyValue(kv) }));
  }
  let from = compacted + 1;
  let sub = 0;
  let revision = 0;
  while (from <= store.currentRevision()) {
    const batch = unwrap(
      store.changes({ key: ALL_KEYS, rangeEnd: ALL_KEYS, fromRevision: from, prevKv: false, recordsMax: CHANGES_RECORDS_MAX, bytesMax: CHANGES_BYTES_MAX }),
    );
    for (const event of batch.events) {
      sub = event.kv.modRevision === revision ? sub + 1 : 0;
      revision = event.kv.modRevision;
      records.push(
        event.type === 'put'
          ? { key: encodeRevision(revision, sub), value: encodeKeyValue(event.kv) }
          : { key: encodeRevision(revision, sub, true), value: encodeTombstone(event.kv.key) },
      );
    }
    from = batch.throughRevision + 1;
  }
  return records;
}

function metaRecords(store: MvccStore): BoltEntry[] {
  const text = (name: string): Uint8Array => new TextEncoder().encode(name);
  const records: BoltEntry[] = [{ key: text('consistent_index'), value: encodeU64(store.appliedIndex()) }];
  const compacted = store.compactedRevision();
  if (compacted > 0) {
    records.push(
      { key: text('finishedCompactRev'), value: encodeRevision(compacted, 0) },
      { key: text('scheduledCompactRev'), value: encodeRevision(compacted, 0) },
    );
  }
  return records;
}

function chunks(bytes: Uint8Array): BoltEntry[] {
  const out: BoltEntry[] = [];
  for (let offset = 0, n = 0; offset < bytes.length; offset += KEEL_CHUNK_BYTES, n++) {
    out.push({ key: encodeU64(n), value: bytes.subarray(offset, Math.min(bytes.length, offset + KEEL_CHUNK_BYTES)) });
  }
  return out;
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(`exporting the store for etcd: ${result.error.message}`);
  return result.value;
}
