/**
 * etcd's Cluster service: MemberList from the replicated member list, and MemberAdd,
 * MemberRemove, MemberUpdate and MemberPromote as real Raft membership changes (see
 * replica/membership.ts), run on the leader or forwarded to it (member-admin.ts), with
 * etcd's error messages (errors.ts). Ids are Keel's node ids; etcdctl shows them in hex.
 *
 * clientURLs are the members' client URLs, whole, as etcd gives them: the one client
 * port serves gRPC and HTTP alike (api/client-port.ts), and it accepts the URL-shaped
 * :authority etcd 3.4's client sends when it dials one of them (api/http2-handover.ts).
 */
import { status } from './status.js';
import type { Member } from '../../kv/index.js';
import { type MembershipNode, NEEDS_ANYONE, NEEDS_ROOT } from '../../server/index.js';
import { runMemberOp, type MemberOp } from '../member-admin.js';
import { GrpcError } from './errors.js';
import { responseHeader } from './header.js';
import { safeInteger } from './int64.js';
import type { Message } from './convert.js';
import type { EtcdService } from './service.js';

export function memberMessage(member: Member): Record<string, unknown> {
  return { ID: String(member.id), name: member.name, peerURLs: member.peerUrls, clientURLs: member.grpcUrls, isLearner: member.isLearner };
}

/** etcd's Cluster answers carry no revision: membership is not part of the key-value history. */
function memberHeader(node: MembershipNode): Message {
  return { ...responseHeader(node), revision: 0 };
}

export function clusterService(node: MembershipNode): EtcdService {
  const change = async (op: MemberOp): Promise<{ header: unknown; member: Record<string, unknown>; members: Record<string, unknown>[] }> => {
    const result = await runMemberOp(node, op, false);
    return { header: memberHeader(node), member: memberMessage(result.member), members: result.members.map(memberMessage) };
  };
  return {
    name: 'Cluster',
    unary: {
      MemberList: {
        need: () => NEEDS_ANYONE,
        gatewayPaths: ['/v3/cluster/member/list'],
        handle: async () => ({ header: memberHeader(node), members: node.memberList().members.map(memberMessage) }),
      },
      MemberAdd: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/cluster/member/add'],
        handle: async (request) => change({ kind: 'add', request: { peerUrls: peerUrlsOf(request), isLearner: request['isLearner'] === true } }),
      },
      MemberRemove: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/cluster/member/remove'],
        handle: async (request) => {
          const { header, members } = await change({ kind: 'remove', id: memberIdOf(request) });
          return { header, members };
        },
      },
      MemberUpdate: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/cluster/member/update'],
        handle: async (request) => {
          const { header, members } = await change({ kind: 'update', id: memberIdOf(request), peerUrls: peerUrlsOf(request) });
          return { header, members };
        },
      },
      MemberPromote: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/cluster/member/promote'],
        handle: async (request) => {
          const { header, members } = await change({ kind: 'promote', id: memberIdOf(request) });
          return { header, members };
        },
      },
    },
  };
}

function memberIdOf(request: Message): number {
  const id = safeInteger(request['ID'], 'member ID');
  if (id === 0) throw new GrpcError(status.NOT_FOUND, 'etcdserver: member not found');
  return id;
}

function peerUrlsOf(request: Message): string[] {
  const urls = request['peerURLs'];
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((url) => typeof url === 'string')) {
    throw new GrpcError(status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
  }
  return urls as string[];
}
