/**
 * etcd's ids and revisions are 64-bit; Keel's are safe integers (below 2^53), which
 * no store reaches by counting. A value outside that range is refused by name rather
 * than rounded to a different id.
 */
import { GrpcError } from './errors.js';
import { status } from './status.js';

/** A non-negative int64/uint64 field (decimal string, number or bigint) as a safe integer. */
export function safeInteger(value: unknown, field: string): number {
  const n = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new GrpcError(status.INVALID_ARGUMENT, `etcdserver: ${field} ${String(value)} is out of range (Keel accepts integers up to 2^53-1)`);
  }
  return n;
}

/** As safeInteger, but a negative value counts as 0 (etcd: "revision <= 0 is the newest"). */
export function revisionOrZero(value: unknown, field: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && n < 0) return 0;
  return safeInteger(value, field);
}

/** A lease id field: 0 for none, else a lease's id; a negative one is refused by name. */
export function leaseIdField(value: unknown): number {
  const id = safeInteger(value ?? 0, 'lease ID');
  if (id < 0) throw new GrpcError(status.INVALID_ARGUMENT, `etcdserver: lease ID ${id} is negative`);
  return id;
}
