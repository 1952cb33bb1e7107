/**
 * What `keel snapshot restore` accepts: Keel's own snapshot (kv/snapshot-format.ts), or
 * an etcd snapshot file (a bolt database followed by its SHA-256, as `etcdctl snapshot
 * save` writes it). An etcd snapshot that Keel made carries Keel's own snapshot whole
 * (export.ts), which is what is restored then; one that etcd made is rebuilt from
 * etcd's buckets (import.ts).
 */
import { createHash } from 'node:crypto';
import { BOLT_MAGIC, PAGE_HEADER_BYTES } from '../bolt/bolt-layout.js';
import { readBoltFile } from '../bolt/bolt-reader.js';
import { KEEL_BUCKET } from './export.js';
import { importEtcdBuckets } from './import.js';
import { SnapshotFileError } from './snapshot-file-error.js';

export { SnapshotFileError } from './snapshot-file-error.js';

const SHA256_BYTES = 32;

/** Whether `file` starts like a bolt database (an etcd snapshot) rather than a Keel snapshot. */
export function isEtcdSnapshot(file: Uint8Array): boolean {
  return file.length >= PAGE_HEADER_BYTES + 4 && new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(PAGE_HEADER_BYTES, true) === BOLT_MAGIC;
}

/**
 * The Keel snapshot a file holds: the file itself, the one inside an etcd snapshot Keel
 * made, or the store of an etcd snapshot that etcd made, rebuilt (import.ts).
 */
export async function keelSnapshotIn(file: Uint8Array): Promise<Uint8Array> {
  if (!isEtcdSnapshot(file)) return file;
  // etcd's rule: a file whose size is a multiple of 512 plus 32 ends with the SHA-256 of the rest.
  if (file.length % 512 !== SHA256_BYTES)
    throw new SnapshotFileError('this etcd snapshot lacks the SHA-256 that etcdctl snapshot save appends: it may be cut short');
  const database = file.subarray(0, file.length - SHA256_BYTES);
  const expected = Buffer.from(file.subarray(file.length - SHA256_BYTES)).toString('hex');
  if (createHash('sha256').update(database).digest('hex') !== expected)
    throw new SnapshotFileError('this etcd snapshot does not match its SHA-256: it is damaged');
  const buckets = readBoltFile(database);
  const keel = buckets.find((bucket) => bucket.name === KEEL_BUCKET);
  if (!keel) return (await importEtcdBuckets(buckets)).snapshot;
  const chunks = keel.entries.map((entry) => entry.value);
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
