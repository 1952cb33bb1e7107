/**
 * Member metadata derived from a node's own configuration: the list a brand-new
 * cluster starts with (its `members` setting, which the log never holds) and the record
 * a node publishes about itself once it runs (etcd's publish of name and client URLs).
 */
import type { Member, MemberList } from '../kv/index.js';
import type { NodeId } from '../raft/index.js';
import { clientScheme, peerScheme } from './config.js';
import type { MemberAddress, NodeConfig } from './config.js';
import { type PeerAddress, peerAddressOf } from './membership.js';

export function memberName(id: NodeId): string {
  return `node${id}`;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * `scheme`, `peer`: https when the member's client, peer listeners speak TLS. A new cluster's
 * members are assumed to be configured alike (as etcd assumes); each member publishes
 * its own URLs once it runs, which corrects any that differ.
 */
export function memberFromAddress(m: MemberAddress, scheme: 'http' | 'https', peer: 'http' | 'https' = 'http'): Member {
  return {
    id: m.id,
    name: m.name ?? memberName(m.id),
    peerUrls: [`${peer}://${hostForUrl(m.host)}:${m.peerPort}`],
    clientUrls: [`${scheme}://${hostForUrl(m.host)}:${m.clientPort}`],
    // Where etcd clients go: the second client port if the member has one, else the one.
    grpcUrls: [`${scheme}://${hostForUrl(m.host)}:${m.grpcPort ?? m.clientPort}`],
    isLearner: false,
  };
}

/** The configured members, as every node of a new cluster was started with them. */
export function bootstrapMembers(config: NodeConfig): Member[] {
  return config.members.map((m) => memberFromAddress(m, clientScheme(config), peerScheme(config)));
}

/** The member list in force before the first membership change wrote one to the store. */
export function bootstrapList(config: NodeConfig): MemberList {
  return { members: bootstrapMembers(config), removed: [] };
}

/** What this node says about itself: the fields a member publishes. */
export function selfPublished(config: NodeConfig): Pick<Member, 'name' | 'clientUrls' | 'grpcUrls'> {
  const self = memberFromAddress(config.members.find((m) => m.id === config.id) as MemberAddress, clientScheme(config));
  return { name: self.name, clientUrls: self.clientUrls, grpcUrls: self.grpcUrls };
}

export function needsPublish(list: MemberList, config: NodeConfig): boolean {
  const record = list.members.find((m) => m.id === config.id);
  if (!record) return false;
  const own = selfPublished(config);
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  return record.name !== own.name || !same(record.clientUrls, own.clientUrls) || !same(record.grpcUrls, own.grpcUrls);
}

/** The transport's peer map for a member list. */
export function peerMap(list: MemberList, self: NodeId): Map<NodeId, PeerAddress> {
  const peers = new Map<NodeId, PeerAddress>();
  for (const m of list.members) {
    const url = m.peerUrls[0];
    if (m.id !== self && url !== undefined) peers.set(m.id, peerAddressOf(url));
  }
  return peers;
}
