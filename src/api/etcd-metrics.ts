/**
 * etcd's metric names, for the gauges whose meaning Keel shares, next to Keel's own
 * (metrics.ts): dashboards and alerts written for etcd (has a leader, is the leader,
 * proposals committed, applied and pending, database size against its quota, the
 * store's revision) read a Keel node unchanged. etcd's other metrics (gRPC server
 * histograms, WAL and backend timings, network counters) have no same-meaning value
 * here and are left out rather than approximated.
 */
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ObservedNode } from '../server/index.js';

export function registerEtcdMetrics(registry: Registry, node: ObservedNode): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (node.status().leader !== 0 ? 1 : 0));
  gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (node.status().role === 'leader' ? 1 : 0));
  gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', () => (node.status().isLearner ? 1 : 0));
  // etcd counts proposals by Raft index too: committed is the commit index, applied the applied index.
  gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => node.status().commit);
  gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', () => node.status().applied);
  gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', () => node.status().pendingWrites);
  gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => node.storageSizes().quotaBackendBytes);
  gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => node.storageSizes().dbSize);
  gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', () => node.storageSizes().dbSizeInUse);
  gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => node.status().revision);
  gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => node.status().compactedRevision);
}
