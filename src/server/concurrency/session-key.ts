/**
 * The keys etcd's lock and election recipes make: `<name>/<lease id in hex>` (one key
 * per lease and name, so a session that asks again finds its own key), and the reads
 * that find the oldest key under `<name>/`, which holds the lock or leads.
 */
import { prefixEnd, type RangeRequest } from '../../kv/index.js';

/** etcd's recipes hold a lease this long when a request names none (concurrency.defaultSessionTTL). */
export const SESSION_TTL_SECONDS = 60;

export function namePrefix(name: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([name, Buffer.from('/')]));
}

/** `<prefix><lease id>`, the id in lower-case hex without padding, as etcd's %x prints it. */
export function sessionKey(prefix: Uint8Array, leaseId: number): Uint8Array {
  return new Uint8Array(Buffer.concat([prefix, Buffer.from(leaseId.toString(16))]));
}

/** The oldest key under `prefix` (etcd's WithFirstCreate). */
export function oldestUnder(prefix: Uint8Array): Omit<RangeRequest, 'type'> {
  return { key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: 'create', sortOrder: 'ascend', limit: 1 };
}
