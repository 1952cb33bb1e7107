/**
 * The replicated lease table, inside the apply's LMDB transaction:
 *
 *   leases     id (8 bytes, big-endian) -> ttl:varint renewedIndex:varint
 *   leaseKeys  id (8 bytes) ‖ user key -> (empty)
 *
 * The second table is the attachment index etcd keeps in memory (lease.itemSet): it
 * lets a revoke find its keys and TimeToLive list them without scanning the store. A
 * fixed-width id prefix keeps each lease's keys together, ascending, and makes
 * "id ‖ key" unique without encoding the key (8 + 3567 bytes fits an LMDB key).
 *
 * What the table never holds is a deadline: expiry is decided by the leader's clock
 * (replica/lessor.ts) and reaches the table as a revoke through the log.
 */
import { ByteReader, ByteWriter } from '../../lib/index.js';
import { readRevision, revisionBytes } from '../codec/key-encoding.js';
import type { Table } from '../env/kv-env.js';
import type { Lease, LeaseInfo } from '../types.js';

const ID_BYTES = 8;

export class LeaseTable {
  constructor(
    private readonly leases: Table,
    private readonly leaseKeys: Table,
  ) {}

  get(id: number): Lease | undefined {
    const data = this.leases.get(revisionBytes(id));
    return data === undefined ? undefined : decodeLease(id, data);
  }

  has(id: number): boolean {
    return this.leases.get(revisionBytes(id)) !== undefined;
  }

  /** Grants or renews: writes the lease with its TTL and the index of this renewal. */
  put(lease: Lease): void {
    this.leases.putSync(revisionBytes(lease.id), new ByteWriter(12).varint(lease.ttl).varint(lease.renewedIndex).finish());
  }

  /** Removes the lease and whatever attachments it still has. */
  remove(id: number): void {
    this.leases.removeSync(revisionBytes(id));
    for (const key of this.keysOf(id)) this.detach(id, key);
  }

  attach(id: number, key: Uint8Array): void {
    this.leaseKeys.putSync(attachmentKey(id, key), new Uint8Array(0));
  }

  detach(id: number, key: Uint8Array): void {
    this.leaseKeys.removeSync(attachmentKey(id, key));
  }

  keysOf(id: number): Uint8Array[] {
    const prefix = revisionBytes(id);
    const keys: Uint8Array[] = [];
    for (const { key } of this.leaseKeys.getRange({ start: prefix })) {
      if (!prefix.equals(key.subarray(0, ID_BYTES))) break;
      keys.push(new Uint8Array(key.subarray(ID_BYTES)));
    }
    return keys;
  }

  info(id: number): LeaseInfo | undefined {
    const lease = this.get(id);
    return lease && { lease, keys: this.keysOf(id) };
  }

  /** Every lease, by id ascending. */
  list(): Lease[] {
    const out: Lease[] = [];
    for (const { key, value } of this.leases.getRange({})) out.push(decodeLease(readRevision(key, 0), value));
    return out;
  }

  count(): number {
    return this.leases.getCount();
  }
}

function attachmentKey(id: number, key: Uint8Array): Buffer {
  return Buffer.concat([revisionBytes(id), key]);
}

function decodeLease(id: number, data: Uint8Array): Lease {
  const r = new ByteReader(data);
  const lease = { id, ttl: r.varint(), renewedIndex: r.varint() };
  r.end();
  return lease;
}
