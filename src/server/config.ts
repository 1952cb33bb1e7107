/**
 * A node's configuration: who it is, who its peers are, where it keeps data, and the
 * limits it enforces. Loaded by the CLI from flags, KEEL_* variables or YAML.
 */
import type { NodeId } from '../raft/types.js';

export interface MemberAddress {
  readonly id: NodeId;
  /** Host for the peer (Raft) port and the client (HTTP and gRPC) ports. */
  readonly host: string;
  readonly peerPort: number;
  readonly clientPort: number;
  /** The etcd v3 gRPC API's port; absent: this member serves no gRPC. */
  readonly grpcPort?: number;
}

export interface NodeConfig {
  readonly id: NodeId;
  /** Peers refuse messages from another cluster. */
  readonly clusterId: string;
  /** Every member of the initial cluster, this node included. */
  readonly members: readonly MemberAddress[];
  /** Where this node keeps its WAL, snapshots and key-value store. */
  readonly dataDir: string;
  /** Host the HTTP API listens on (default: this member's host). */
  readonly listenHost?: string;
  /** Wall-clock length of one Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** A request not answered by then fails with TIMEOUT. */
  readonly requestTimeoutMs: number;
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotEveryEntries: number;
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly requestBytesMax: number;
  /** Writes waiting for the log at once; beyond, new writes are refused (OVERLOADED). */
  readonly pendingWritesMax: number;
  /** Create fault hooks reachable through the admin API (tests, chaos, dashboard). */
  readonly enableFaultInjection: boolean;
  /** With fault injection: WAL and snapshot writes reach the disk only at fsync, so a
   * kill -9 loses what a power cut would (storage/faulty-disk.ts). For durability tests. */
  readonly faultPowerLoss: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export const nodeConfigDefaults = {
  clusterId: 'keel',
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 5_000,
  snapshotEveryEntries: 10_000,
  keyBytesMax: 4 * 1024,
  valueBytesMax: 1024 * 1024,
  requestBytesMax: 1536 * 1024,
  pendingWritesMax: 10_000,
  enableFaultInjection: false,
  faultPowerLoss: false,
  logLevel: 'info',
} as const satisfies Partial<NodeConfig>;

export function selfAddress(config: NodeConfig): MemberAddress {
  const self = config.members.find((m) => m.id === config.id);
  if (!self) throw new Error(`node ${config.id} is not in the member list (${config.members.map((m) => m.id).join(', ')})`);
  return self;
}
