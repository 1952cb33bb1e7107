/**
 * GET /status's answer, as JSON: written by the node (api/cluster-routes.ts), read by the
 * client library, the dashboard, `keel` and the test harness. One declaration, so a field
 * added or renamed on one side is a compile error on the others.
 */

export type RoleName = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** A follower's replication progress, as its leader sees it. */
export interface PeerProgressJson {
  readonly id: number;
  /** Highest index known to be replicated on the peer. */
  readonly match: number;
  /** Next index to send it. */
  readonly next: number;
  /** probe, replicate or snapshot (thesis §3.5, etcd-io/raft's progress states). */
  readonly state: string;
  readonly recentActive: boolean;
}

export interface AlarmJson {
  readonly memberId: number;
  /** NOSPACE or CORRUPT, etcd's names. */
  readonly alarm: string;
}

export interface NodeStatusJson {
  readonly id: number;
  readonly role: RoleName;
  readonly term: number;
  /** The leader this node knows of; 0 for none. */
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** The store's revision and the revision below which history is compacted away. */
  readonly revision: number;
  readonly compactedRevision: number;
  /** The last compaction's old history is still being removed (defragment after it is done). */
  readonly compactionPending: boolean;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  readonly isLearner: boolean;
  /** Writes and reads waiting for Raft; watchers served by this node. */
  readonly pendingWrites: number;
  readonly pendingReads: number;
  readonly watchers: number;
  /** Replication progress of each peer; empty unless leader. */
  readonly peers: readonly PeerProgressJson[];
  /** Keel's version. */
  readonly version: string;
  /** The store's file size up to its last used page, the pages in use, and the quota (etcd's dbSize, dbSizeInUse, quota-backend-bytes). */
  readonly dbSize: number;
  readonly dbSizeInUse: number;
  readonly quotaBackendBytes: number;
  readonly alarms: readonly AlarmJson[];
  /** The data disk at its last reading. */
  readonly disk: { readonly freeBytes: number; readonly reserveBytes: number; readonly low: boolean };
}
