/**
 * Applies lease commands (etcd's lessor Grant / Revoke / Renew, made replicated): each
 * decides from the lease table as it is at this entry, so every replica gets the same
 * answer. A revoke deletes the lease's keys through the write executor, as one
 * transaction of deletes: one revision, the usual delete events, attachments dropped.
 */
import { kvError } from '../errors.js';
import type { LogIndex } from '../../raft/index.js';
import { executeWrite, type WriteContext, type WriteOutcome } from '../mvcc/write-executor.js';
import type { LeaseRequest, TxnRequest } from '../types.js';
import { assert } from '../../lib/index.js';

export function executeLease(context: WriteContext, request: LeaseRequest, index: LogIndex): WriteOutcome {
  const { leases, revision } = context;
  const fail = (code: 'LEASE_NOT_FOUND' | 'LEASE_EXISTS', message: string): WriteOutcome => ({
    result: { ok: false, error: kvError(code, message) },
    events: [],
    revision,
  });
  const lease = leases.get(request.id);
  switch (request.type) {
    case 'leaseGrant': {
      if (lease) return fail('LEASE_EXISTS', `lease grant: lease ${request.id} already exists`);
      leases.put({ id: request.id, ttl: request.ttl, renewedIndex: index });
      return { result: { ok: true, revision, response: { type: 'leaseGrant', id: request.id, ttl: request.ttl } }, events: [], revision };
    }
    case 'leaseKeepAlive': {
      if (!lease) return fail('LEASE_NOT_FOUND', `lease keep-alive: requested lease ${request.id} not found`);
      leases.put({ ...lease, renewedIndex: index });
      return { result: { ok: true, revision, response: { type: 'leaseKeepAlive', id: lease.id, ttl: lease.ttl } }, events: [], revision };
    }
    case 'leaseRevoke': {
      if (!lease) return fail('LEASE_NOT_FOUND', `lease revoke: requested lease ${request.id} not found`);
      if (request.onlyIfRenewedAt !== undefined && request.onlyIfRenewedAt !== lease.renewedIndex) {
        // An expiry decided before a keep-alive that the log put first: the lease lives.
        return { result: { ok: true, revision, response: { type: 'leaseRevoke', revoked: false, deleted: 0 } }, events: [], revision };
      }
      const keys = leases.keysOf(request.id);
      const deletes: TxnRequest = { type: 'txn', compare: [], success: keys.map((key) => ({ type: 'deleteRange', key })), failure: [] };
      const outcome = executeWrite(context, deletes);
      assert(outcome.result.ok, 'a transaction of single-key deletes cannot fail');
      leases.remove(request.id);
      return {
        ...outcome,
        result: { ok: true, revision: outcome.revision, response: { type: 'leaseRevoke', revoked: true, deleted: keys.length } },
      };
    }
  }
}
