/**
 * etcd's Cluster service. MemberList answers from the node's member list; clientURLs
 * are the members' gRPC URLs, because etcd clients (etcdctl --cluster, client
 * libraries' endpoint discovery) dial them with gRPC.
 */
import type { KeelNode } from '../../server/keel-node.js';
import type { MemberAddress } from '../../server/config.js';
import { responseHeader } from './header.js';
import type { EtcdService } from './service.js';

export function memberMessage(member: MemberAddress): Record<string, unknown> {
  return {
    ID: String(member.id),
    name: `node${member.id}`,
    peerURLs: [`http://${member.host}:${member.peerPort}`],
    clientURLs: member.grpcPort !== undefined ? [`http://${member.host}:${member.grpcPort}`] : [],
    isLearner: false,
  };
}

export function clusterService(node: KeelNode): EtcdService {
  return {
    name: 'Cluster',
    unary: {
      MemberList: {
        gatewayPaths: ['/v3/cluster/member/list'],
        handle: async () => ({ header: responseHeader(node), members: node.config.members.map(memberMessage) }),
      },
    },
  };
}
