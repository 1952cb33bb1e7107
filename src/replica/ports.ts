/**
 * What a replica needs from the world, injected: the Node.js shell (server/keel-node.ts)
 * wires real timers, sockets, disks and LMDB; a simulation wires simulated ones. The
 * replica itself reads no clock, starts no timer and opens no socket.
 */
import type { Message, NodeId } from '../raft/index.js';
import type { FileSystem } from '../storage/index.js';
import type { MvccStore } from '../kv/index.js';
import type { Logger } from './logger.js';
import type { peerMap } from './member-metadata.js';

export interface ReplicaClock {
  /** Wall-clock milliseconds: command timestamps and request deadlines. */
  nowMs(): number;
  /** Monotonic milliseconds: the lessor's clock (a wall-clock jump neither expires nor prolongs leases) and the counters'. */
  monotonicMs(): number;
}

/** The peers: sending; the caller delivers what arrives through Replica.receive. */
export interface PeerNetwork {
  send(message: Message): void;
  /**
   * send(), but written now rather than at the end of the turn, for what a node sends
   * from inside a long synchronous apply. Absent where the two are the same (a
   * simulated network).
   */
  sendAtOnce?(message: Message): void;
  /** The member list changed: these are the peers to reach now. */
  updatePeers(peers: ReturnType<typeof peerMap>): void;
  /** The members this node is connected to now (etcd's "started" members). */
  connectedPeers(): ReadonlySet<NodeId>;
}

/** The data disk's free space at its last reading (server/disk-space.ts in production). */
export interface DiskSpaceView {
  readonly freeBytes: number;
  readonly reserveBytes: number;
  /** Below the reserve: writes that add data are refused. */
  readonly low: boolean;
  /** Back above the reserve with margin: a NOSPACE alarm raised for the disk may be lifted. */
  readonly recovered: boolean;
}

export interface ReplicaPorts {
  readonly clock: ReplicaClock;
  /** The Raft storage's file system (WAL, hard state, snapshots). */
  readonly fs: FileSystem;
  readonly network: PeerNetwork;
  /** Opens the key-value store over its environment (LMDB in production). */
  readonly openStore: () => MvccStore;
  /** Uniform in [0, bound): elections' randomized timeouts, lease and request ids. */
  readonly random: { int(bound: number): number };
  readonly log: Logger;
  /** Runs a task soon, after the current turn, so requests arriving together share a Ready. */
  readonly defer: (task: () => void) => void;
  readonly diskSpace: DiskSpaceView;
  /** The Ready loop failed (a storage failure above all): the node must stop. */
  readonly onFatal: (error: unknown) => void;
  /** This node was removed from the cluster and has lingered its last ticks: stop it. */
  readonly onRemoved: () => void;
}
