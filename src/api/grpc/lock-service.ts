/**
 * etcd's Lock service (v3lockpb.Lock): Lock waits until the caller holds the named lock
 * and answers with its key; Unlock deletes that key. The recipe is
 * server/concurrency/mutex.ts; a Lock whose client goes away stops waiting and leaves
 * no key behind.
 */
import { type KeyValueNode, CallerKv, lock, unlock } from '../../server/index.js';
import { responseHeader } from './header.js';
import { leaseIdField } from './int64.js';
import { bytesField, placeNeed } from './recipe-requests.js';
import type { EtcdService } from './service.js';

export function lockService(node: KeyValueNode): EtcdService {
  return {
    name: 'Lock',
    package: 'v3lockpb',
    unary: {
      Lock: {
        need: (request) => placeNeed(node, bytesField(request.name), leaseIdField(request.lease)),
        gatewayPaths: ['/v3/lock/lock'],
        handle: async (request, caller, gone) => {
          const locked = await lock(new CallerKv(node, caller), bytesField(request.name), leaseIdField(request.lease), gone());
          return { header: { ...responseHeader(node, locked.revision) }, key: locked.key };
        },
      },
      Unlock: {
        need: (request) => node.auth.needsFor({ type: 'deleteRange', key: bytesField(request.key) }),
        gatewayPaths: ['/v3/lock/unlock'],
        handle: async (request, caller) => {
          const revision = await unlock(new CallerKv(node, caller), bytesField(request.key));
          return { header: { ...responseHeader(node, revision) } };
        },
      },
    },
  };
}
