/**
 * Prometheus metrics for one node (prom-client), read from the node when scraped so
 * the hot path pays nothing for them: Keel's own, and etcd's names where the meaning
 * is the same (etcd-metrics.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ObservedNode } from '../server/index.js';
import { registerEtcdMetrics } from './etcd-metrics.js';

const roles = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

export interface ApiMetrics {
  readonly registry: Registry;
  readonly requestSeconds: Histogram<'method' | 'route' | 'status'>;
}

export function createMetrics(node: ObservedNode, grpcCallsWaiting?: () => number): ApiMetrics {
  const registry = new Registry();
  // Unprefixed, as every Prometheus client names them (etcd's too): `etcdctl check
  // datascale` reads process_resident_memory_bytes.
  collectDefaultMetrics({ register: registry });
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
  gauge('keel_raft_term', 'Current Raft term', () => node.status().term);
  gauge('keel_raft_commit_index', 'Raft commit index', () => node.status().commit);
  gauge('keel_raft_applied_index', 'Index applied to the key-value store', () => node.status().applied);
  gauge('keel_raft_last_index', 'Last log index', () => node.status().lastIndex);
  gauge('keel_raft_leader', 'Id of the leader this node knows (0: none)', () => node.status().leader);
  gauge('keel_kv_revision', 'Key-value store revision', () => node.status().revision);
  gauge('keel_pending_writes', 'Writes waiting to apply', () => node.status().pendingWrites);
  gauge('keel_pending_reads', 'Reads waiting for ReadIndex', () => node.status().pendingReads);
  gauge('keel_watchers', 'Watchers served by this node', () => node.status().watchers);
  if (grpcCallsWaiting) {
    gauge(
      'keel_grpc_calls_waiting_to_arrive',
      "gRPC calls whose requests wait, unread, for their connection's earlier requests to arrive (connectionArrivingBytesMax)",
      grpcCallsWaiting,
    );
  }
  new Gauge({
    name: 'keel_raft_role',
    help: '1 for the role this node has',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      const role = node.status().role;
      for (const r of roles) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  // Since the process started, never reset (prom-client's nodejs_eventloop_lag_*
  // start again at every scrape): the longest stall tells whether a pause could have cost
  // an election (a pause longer than the election timeout lets the peers elect another leader).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  gauge('keel_event_loop_delay_max_seconds', 'Longest event-loop delay since the process started', () => loopDelay.max / 1e9);
  gauge('keel_event_loop_delay_p99_seconds', '99th percentile of the event-loop delay since the process started', () => loopDelay.percentile(99) / 1e9);
  gauge(
    'keel_snapshot_last_seconds',
    'How long the last automatic snapshot took, until the log was compacted to it',
    () => node.counters.snapshotLastMs / 1000,
  );
  gauge(
    'keel_snapshot_copy_last_seconds',
    'How long the last automatic snapshot took streaming the store into its file, between other work',
    () => node.counters.snapshotCopyLastMs / 1000,
  );
  gauge('keel_snapshot_last_bytes', 'Size of the last automatic snapshot', () => node.counters.snapshotLastBytes);
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  counter('keel_entries_persisted_total', 'Log entries written to the WAL', () => node.counters.entriesPersisted);
  counter('keel_entries_applied_total', 'Log entries applied', () => node.counters.entriesApplied);
  counter('keel_ready_loops_total', 'Ready loop iterations (one fsync each)', () => node.counters.readyLoops);
  counter('keel_messages_sent_total', 'Raft messages sent', () => node.counters.messagesSent);
  counter('keel_snapshots_total', 'Snapshots taken', () => node.counters.snapshotsTaken);
  counter('keel_snapshots_installed_total', 'Snapshots received whole from a leader and installed', () => node.counters.snapshotsInstalled);
  counter(
    'keel_snapshot_files_damaged_total',
    'Stored snapshot files found damaged after the start, moved aside and replaced',
    () => node.counters.snapshotFilesDamaged,
  );
  counter('keel_raft_leader_changes_seen_total', 'Times this node saw a new leader', () => node.counters.leaderChanges);
  counter(
    'keel_leader_lease_uses_total',
    'Lease renewals this leader confirmed on its leader lease, without a heartbeat round of their own',
    () => node.counters.leaderLeaseUses,
  );
  const requestSeconds = new Histogram({
    name: 'keel_http_request_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  });
  registerEtcdMetrics(registry, node);
  return { registry, requestSeconds };
}
