/**
 * The check a key request meets when it applies, with auth enabled (etcd's
 * authApplierV3): the credentials must not predate the auth state (etcd's "revision of
 * auth store is old") and the user must hold every permission the request needs. It
 * reads only replicated state, so every replica decides alike.
 *
 * Commands without a user (auth was off when the member took them, or the leader's
 * lease expiry) are not checked here; the member that took them checked them.
 */
import { kvError, type KvError } from '../errors.js';
import { isPermitted } from './auth-permissions.js';
import { leaseAccess, requiredAccess, type LeaseKeys } from './auth-access.js';
import type { AuthState } from './auth-types.js';
import type { CommandAuth, CommandBody } from '../types.js';

export function authRefusal(state: AuthState, auth: CommandAuth | undefined, body: CommandBody, leaseKeys: LeaseKeys): KvError | undefined {
  if (!state.enabled || !auth) return undefined;
  let needs;
  switch (body.type) {
    case 'put':
    case 'deleteRange':
    case 'txn':
      needs = requiredAccess(body, leaseKeys);
      break;
    case 'leaseRevoke':
      needs = leaseAccess(body.id, leaseKeys);
      break;
    default:
      return undefined;
  }
  if (auth.revision < state.revision)
    return kvError(
      'AUTH_OLD_REVISION',
      `revision of auth store is old: the request was checked at auth revision ${auth.revision}, the store is at ${state.revision}`,
    );
  for (const access of needs) {
    if (!isPermitted(state, auth.user, access))
      return kvError('PERMISSION_DENIED', `permission denied: user ${auth.user} may not ${access.kind} this key or range`);
  }
  return undefined;
}
