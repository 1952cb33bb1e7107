/**
 * etcd's Lock service, run inside the node on its own key-value store, leases and
 * watches (etcd's v3lock server runs concurrency.Mutex the same way):
 *   - Lock puts `<name>/<lease hex>` with the lease (or finds it, if this lease already
 *     asked), then waits until that key is the oldest under `<name>/`, and answers with
 *     the key. A lease that does not exist fails the put ("requested lease not found");
 *     none given: a new lease of SESSION_TTL_SECONDS, as etcd grants, which nobody
 *     keeps alive, so the lock is gone after a minute unless unlocked.
 *   - A waiter that gives up (its client went away) deletes its key, as etcd's does;
 *     one whose lease expires is told "mutex: session is expired" (wait-turn.ts).
 *   - Unlock deletes the key (a missing key is no error, as in etcd).
 */
import type { CallerKv } from './caller-kv.js';
import { namePrefix, oldestUnder, SESSION_TTL_SECONDS, sessionKey } from './session-key.js';
import { waitForTurn } from './wait-turn.js';
import { ConcurrencyError } from './errors.js';

export interface Locked {
  /** The key that stands for the lock while it is held. */
  readonly key: Uint8Array;
  /** The revision at which the caller was seen to hold it. */
  readonly revision: number;
}

export async function lock(kv: CallerKv, name: Uint8Array, leaseId: number, signal: AbortSignal): Promise<Locked> {
  signal.throwIfAborted();
  const lease = leaseId !== 0 ? leaseId : await kv.grantLease(SESSION_TTL_SECONDS);
  const prefix = namePrefix(name);
  const key = sessionKey(prefix, lease);
  const owner = { type: 'range', ...oldestUnder(prefix) } as const;
  const { revision, response } = await kv.txn({
    compare: [{ key, target: 'create', result: 'equal', operand: 0 }],
    success: [{ type: 'put', key, value: new Uint8Array(0), lease }, owner],
    // The lease asked before: its key is its place in line (etcd reuses it too).
    failure: [{ type: 'range', key }, owner],
  });
  const ownRange = response.responses[0];
  const ownRevision = response.succeeded || ownRange?.type !== 'range' ? revision : (ownRange.kvs[0]?.createRevision ?? revision);
  const holderRange = response.responses[1];
  const holder = holderRange?.type === 'range' ? holderRange.kvs[0] : undefined;
  try {
    signal.throwIfAborted();
    if (!holder || holder.createRevision === ownRevision) return { key, revision };
    return { key, revision: await waitForTurn(kv, { prefix, ownKey: key, ownRevision, expired: 'MUTEX_SESSION_EXPIRED' }, signal) };
  } catch (error) {
    // Leave no key behind. Should this delete fail too (the node is stopping), the key
    // still goes with its lease.
    if (!(error instanceof ConcurrencyError)) await kv.deleteKey(key).catch(() => undefined);
    throw error;
  }
}

/** Releases a lock: deletes its key; answers with the revision after. */
export function unlock(kv: CallerKv, key: Uint8Array): Promise<number> {
  return kv.deleteKey(key);
}
