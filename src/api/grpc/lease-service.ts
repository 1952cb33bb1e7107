/**
 * etcd's Lease service: LeaseGrant, LeaseRevoke, LeaseKeepAlive (a bidirectional
 * stream: one answer per request, in order), LeaseTimeToLive, LeaseLeases. The work is
 * the node's (replica/node-leases.ts); this file speaks etcd's messages and its quirks:
 *   - an unknown lease is NOT_FOUND "etcdserver: requested lease not found" for
 *     revoke, but a keep-alive answers TTL 0 and TimeToLive answers TTL -1 (clients
 *     read those as "expired or revoked");
 *   - a TTL below the minimum is raised to it; above etcd's maximum is OUT_OF_RANGE;
 *   - open keep-alive streams per node are limited (leaseKeepAliveStreamsMax); one more
 *     is refused with RESOURCE_EXHAUSTED.
 */
import { status } from './status.js';
import { type KeyValueNode, NEEDS_USER, commandAuth } from '../../server/index.js';
import type { CommandResult, LeaseResponse } from '../../kv/index.js';
import type { Message } from './convert.js';
import { GrpcError, kvErrorToGrpc, toGrpcError } from './errors.js';
import { responseHeader } from './header.js';
import { leaseIdField, safeInteger } from './int64.js';
import type { EtcdService } from './service.js';
import type { ServerCall } from './server-call.js';

export function leaseService(node: KeyValueNode): EtcdService {
  const header = (revision?: number): Message => ({ ...responseHeader(node, revision) });
  const answer = <T extends LeaseResponse['type']>(result: CommandResult, type: T): { revision: number; response: Extract<LeaseResponse, { type: T }> } => {
    if (!result.ok) throw kvErrorToGrpc(result.error);
    if (result.response.type !== type) throw new GrpcError(status.INTERNAL, `etcdserver: a lease command answered ${result.response.type}`);
    return { revision: result.revision, response: result.response as Extract<LeaseResponse, { type: T }> };
  };
  /** One keep-alive, as etcd answers it: TTL 0 when the lease is gone. */
  const keepAliveOnce = async (request: Message): Promise<Message> => {
    const id = leaseIdField(request.ID);
    const result = await node.leases.keepAlive(id);
    if (!result.ok && result.error.code === 'LEASE_NOT_FOUND') return { header: header(), ID: String(id), TTL: '0' };
    const { revision, response } = answer(result, 'leaseKeepAlive');
    return { header: header(revision), ID: String(response.id), TTL: String(response.ttl) };
  };
  let keepAliveStreams = 0;

  const keepAliveStream = (call: ServerCall): void => {
    if (keepAliveStreams >= node.config.leaseKeepAliveStreamsMax) {
      const message = `etcdserver: too many lease keep-alive streams (${keepAliveStreams}; leaseKeepAliveStreamsMax ${node.config.leaseKeepAliveStreamsMax})`;
      call.fail(new GrpcError(status.RESOURCE_EXHAUSTED, message));
      return;
    }
    keepAliveStreams++;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      keepAliveStreams--;
    };
    // Answers leave in request order: each waits for the one before it.
    let previous: Promise<void> = Promise.resolve();
    call.on('data', (request: Message) => {
      previous = previous.then(async () => {
        if (closed) return;
        try {
          // Checked at each beat, so a token that expires ends the stream (clients log in again).
          await node.auth.authorize(call.credentials(), NEEDS_USER);
          const response = await keepAliveOnce(request);
          if (!closed) call.write(response);
        } catch (error) {
          // etcd ends the stream on any other error; clients open a new one.
          if (!closed) call.fail(toGrpcError(error));
          close();
        }
      });
    });
    call.on('end', () => {
      void previous.then(() => {
        if (!closed) call.end();
        close();
      });
    });
    call.on('cancelled', close);
  };

  return {
    name: 'Lease',
    unary: {
      LeaseGrant: {
        need: () => NEEDS_USER,
        gatewayPaths: ['/v3/lease/grant'],
        handle: async (request) => {
          const ttl = safeInteger(request.TTL ?? 0, 'TTL');
          const { revision, response } = answer(await node.leases.grant(ttl, leaseIdField(request.ID)), 'leaseGrant');
          return { header: header(revision), ID: String(response.id), TTL: String(response.ttl), error: '' };
        },
      },
      LeaseRevoke: {
        need: (request) => node.auth.needsForLease(leaseIdField(request.ID), 'write'),
        gatewayPaths: ['/v3/lease/revoke', '/v3/kv/lease/revoke'],
        handle: async (request, caller) => {
          const { revision } = answer(await node.leases.revoke(leaseIdField(request.ID), undefined, commandAuth(caller)), 'leaseRevoke');
          return { header: header(revision) };
        },
      },
      LeaseKeepAlive: {
        need: () => NEEDS_USER,
        gatewayPaths: ['/v3/lease/keepalive'],
        gatewayStream: true,
        handle: keepAliveOnce,
      },
      LeaseTimeToLive: {
        need: (request) => node.auth.needsForLease(leaseIdField(request.ID), 'read'),
        gatewayPaths: ['/v3/lease/timetolive', '/v3/kv/lease/timetolive'],
        handle: async (request) => {
          const id = leaseIdField(request.ID);
          const lease = await node.leases.timeToLive(id);
          if (!lease) return { header: header(), ID: String(id), TTL: '-1', grantedTTL: '0', keys: [] };
          return {
            header: header(lease.revision),
            ID: String(id),
            TTL: String(lease.ttl),
            grantedTTL: String(lease.grantedTtl),
            keys: request.keys === true ? lease.keys.map((key) => Buffer.from(key)) : [],
          };
        },
      },
      LeaseLeases: {
        need: () => NEEDS_USER,
        gatewayPaths: ['/v3/lease/leases', '/v3/kv/lease/leases'],
        handle: async () => {
          const { leases, revision } = await node.leases.list();
          return { header: header(revision), leases: leases.map((lease) => ({ ID: String(lease.id) })) };
        },
      },
    },
    streaming: { LeaseKeepAlive: keepAliveStream },
  };
}
