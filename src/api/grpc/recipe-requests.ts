/**
 * What the Lock and Election services read from their requests, and what they need of
 * their callers while auth is enabled: the permissions of the key operations the recipe
 * will make (server/concurrency), found by the same rules as the KV service's
 * (node.auth.needsFor), so a user may lock `name` only if they may read `name/` and
 * write their own key under it.
 */
import { type KeyValueNode, type Need, type LeaderKey, ConcurrencyError, namePrefix, oldestUnder, sessionKey } from '../../server/index.js';
import type { RequestOp } from '../../kv/index.js';
import type { Message } from './convert.js';
import { leaseIdField, safeInteger } from './int64.js';

export function bytesField(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(0);
}

/** The request's LeaderKey; etcd's error when it has none. */
export function leaderKeyField(value: unknown): LeaderKey {
  if (value === null || typeof value !== 'object') throw new ConcurrencyError('LEADER_KEY_MISSING');
  const message = value as Message;
  return { name: bytesField(message.name), key: bytesField(message.key), rev: safeInteger(message.rev ?? 0, 'rev'), lease: leaseIdField(message.lease) };
}

/**
 * Taking a place under `name`: read on `name/` (who holds it), and, when the lease is
 * known, write on the key the lease will have there (a new lease's key is checked when
 * its put applies).
 */
export function placeNeed(node: KeyValueNode, name: Uint8Array, lease: number, value: Uint8Array = new Uint8Array(0)): Need {
  const prefix = namePrefix(name);
  const ops: RequestOp[] = [{ type: 'range', ...oldestUnder(prefix) }];
  if (lease !== 0) ops.push({ type: 'put', key: sessionKey(prefix, lease), value, lease });
  return node.auth.needsFor({ type: 'txn', compare: [], success: ops, failure: [] });
}

/** Reading who leads `name`. */
export function leaderReadNeed(node: KeyValueNode, name: Uint8Array): Need {
  return node.auth.needsFor({ type: 'range', ...oldestUnder(namePrefix(name)) });
}

/** Changing or deleting a leader key: read it (the compare) and write it. */
export function leaderKeyNeed(node: KeyValueNode, leader: LeaderKey): Need {
  return node.auth.needsFor({
    type: 'txn',
    compare: [{ key: leader.key, target: 'create', result: 'equal', operand: leader.rev }],
    success: [{ type: 'deleteRange', key: leader.key }],
    failure: [],
  });
}
