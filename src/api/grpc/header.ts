/**
 * etcd's ResponseHeader: who answered (cluster and member id) and the store's revision
 * and Raft term at the time. Clients use the revision to resume watches and to order
 * what they saw, so a write's header carries the revision its own change produced.
 */
import { createHash } from 'node:crypto';
import type { NodeIdentity } from '../../server/index.js';

export interface ResponseHeader {
  readonly cluster_id: string;
  readonly member_id: string;
  readonly revision: number;
  readonly raft_term: number;
}

const clusterIds = new Map<string, string>();

/**
 * etcd's cluster id is a uint64; Keel's is a name. The first 8 bytes of its SHA-256
 * give every member the same number for the same name.
 */
export function clusterIdNumber(name: string): string {
  let id = clusterIds.get(name);
  if (id === undefined) {
    id = createHash('sha256').update(name).digest().readBigUInt64BE(0).toString();
    clusterIds.set(name, id);
  }
  return id;
}

/** The header for an answer at `revision` (default: the store's current revision). */
export function responseHeader(node: NodeIdentity, revision?: number): ResponseHeader {
  const state = node.headerState();
  return {
    cluster_id: clusterIdNumber(node.config.clusterId),
    member_id: String(node.config.id),
    revision: revision ?? state.revision,
    raft_term: state.term,
  };
}
