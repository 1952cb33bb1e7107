/**
 * What a key-value request needs, by etcd's checks (server/etcdserver/apply/auth.go):
 *   - range: read on its range;
 *   - put: write on the key, read too with prevKv; with a lease, write on every key
 *     already attached to that lease (etcd's checkLeasePuts);
 *   - deleteRange: write on its range, read too with prevKv;
 *   - txn: read on every compare's range, and what every operation of BOTH branches
 *     needs (etcd checks both: which runs is not known before apply);
 *   - lease revoke: write on every key attached to the lease.
 */
import type { DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from '../types.js';
import type { KeyAccess } from './auth-permissions.js';

/** The keys attached to a lease (none if it does not exist). */
export type LeaseKeys = (leaseId: number) => readonly Uint8Array[];

export function requiredAccess(request: RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest, leaseKeys: LeaseKeys): KeyAccess[] {
  const needs: KeyAccess[] = [];
  collect(request, leaseKeys, needs);
  return needs;
}

function range(kind: KeyAccess['kind'], key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyAccess {
  return rangeEnd && rangeEnd.length > 0 ? { kind, key, rangeEnd } : { kind, key };
}

function collect(request: RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest, leaseKeys: LeaseKeys, needs: KeyAccess[]): void {
  switch (request.type) {
    case 'range':
      needs.push(range('read', request.key, request.rangeEnd));
      return;
    case 'put':
      needs.push({ kind: 'write', key: request.key });
      if (request.prevKv) needs.push({ kind: 'read', key: request.key });
      if (request.lease) needs.push(...leaseAccess(request.lease, leaseKeys));
      return;
    case 'deleteRange':
      needs.push(range('write', request.key, request.rangeEnd));
      if (request.prevKv) needs.push(range('read', request.key, request.rangeEnd));
      return;
    case 'txn':
      for (const c of request.compare) needs.push(range('read', c.key, c.rangeEnd));
      for (const op of [...request.success, ...request.failure]) collect(op, leaseKeys, needs);
      return;
  }
}

/** Write on every key attached to the lease: what revoking it (or attaching to it) needs. */
export function leaseAccess(leaseId: number, leaseKeys: LeaseKeys): KeyAccess[] {
  return leaseKeys(leaseId).map((key) => ({ kind: 'write', key }));
}
