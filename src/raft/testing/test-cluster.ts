/**
 * A tiny in-memory cluster for the core's unit tests: each node has a "disk" that
 * the Ready loop writes before sending, and messages wait in one queue until the
 * test delivers them. Deliberately simple and synchronous; the full fault-injecting
 * simulator lives in src/sim/.
 */
import { snapshotBytes } from './snapshot-bytes.js';
import { SnapshotsInMemory } from './snapshots-in-memory.js';
import { RaftNode } from '../node.js';
import type { ClusterConfig, Entry, HardState, LogIndex, Message, NodeId, RaftConfig, Snapshot } from '../types.js';
import { entryBytes, pastLimits } from '../log.js';
import { defaultRaftConfig } from '../types.js';
import { Prng } from '../../lib/prng.js';

export interface TestDisk {
  hardState: HardState;
  entries: Entry[];
  snapshot: Snapshot | undefined;
}

export interface TestClusterOptions {
  readonly ids: readonly NodeId[];
  readonly seed?: number;
  readonly config?: Partial<Omit<RaftConfig, 'id'>>;
  /** Defaults to every id being a voter. */
  readonly bootstrap?: ClusterConfig;
  /** The nodes' RaftNodeOptions.pipelined (the test drives the pipeline by hand). */
  readonly pipelined?: boolean;
  /** What a node's state machine finds wrong with a snapshot it received whole, or undefined (the default: nothing). */
  readonly snapshotProblem?: (snapshot: Snapshot) => string | undefined;
}

export class TestCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, TestDisk>();
  /** Commands applied by each node, in order (no-ops and config entries excluded). */
  readonly applied = new Map<NodeId, string[]>();
  readonly readStates = new Map<NodeId, { readId: string; index: number }[]>();
  /** The snapshot each node is receiving, as its runtime would store it. */
  private readonly snapshotsReceiving = new Map<NodeId, SnapshotsInMemory>();
  /** Messages sent but not yet delivered. */
  queue: Message[] = [];
  /** Return false to drop a message on delivery. */
  filter: (m: Message) => boolean = () => true;
  private readonly prng: Prng;
  private readonly bootstrap: ClusterConfig;

  constructor(private readonly options: TestClusterOptions) {
    this.prng = new Prng(options.seed ?? 1);
    this.bootstrap = options.bootstrap ?? { voters: [...options.ids], learners: [] };
    for (const id of options.ids) {
      this.disks.set(id, { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: undefined });
      this.start(id);
    }
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`node ${id} is not running`);
    return node;
  }

  /** Builds (or rebuilds, after crash()) a node from its disk. */
  start(id: NodeId, bootstrap: ClusterConfig = this.bootstrap): RaftNode {
    const disk = this.disks.get(id) ?? { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: undefined };
    this.disks.set(id, disk);
    const transfer = this.snapshotsReceiving.get(id)?.inProgress();
    const node = new RaftNode({
      config: { ...defaultRaftConfig, ...this.options.config, id },
      persisted: { hardState: disk.hardState, entries: [...disk.entries], snapshot: disk.snapshot },
      bootstrap,
      random: this.prng.fork(),
      pipelined: this.options.pipelined ?? false,
      // Entries released from memory (RaftConfig.logMemoryBytesMax) are read back from the disk, as a runtime reads its WAL.
      logReader: { read: (low, high, limits) => readDisk(this.disks.get(id) as TestDisk, low, high, limits) },
      ...(transfer ? { snapshotReceiving: transfer } : {}),
    });
    this.nodes.set(id, node);
    // The state machine restarts from the snapshot on disk, then re-applies the log.
    this.applied.set(id, disk.snapshot ? decodeCommands(snapshotBytes(disk.snapshot.data)) : []);
    this.readStates.set(id, []);
    return node;
  }

  /**
   * Does what a runtime does to bound its log (§7): snapshots the state machine at
   * its applied index, hands the snapshot to the core, which drops the entries it
   * covers, and stores the snapshot on disk in place of those entries.
   * Returns the snapshot's index.
   */
  compact(id: NodeId): number {
    const node = this.node(id);
    const index = node.status().applied;
    node.compact({ index, data: encodeCommands(this.applied.get(id) as string[]) });
    node.checkInvariants();
    const disk = this.disks.get(id) as TestDisk;
    disk.snapshot = node.currentSnapshot();
    // The entries the log keeps before the snapshot (snapshotCatchUpEntries) stay on disk too: the log may read them back.
    const firstKept = node.status().firstIndex;
    disk.entries = disk.entries.filter((e) => e.index >= firstKept);
    return index;
  }

  /** Loses the node's memory; its disk stays. */
  /** Stops a node; `keepTransfer`: its runtime keeps what it stored of a snapshot it was receiving, to go on with at start. */
  crash(id: NodeId, keepTransfer = false): void {
    this.nodes.delete(id);
    if (!keepTransfer) this.snapshotsReceiving.delete(id);
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  private receiving(id: NodeId): SnapshotsInMemory {
    let receiving = this.snapshotsReceiving.get(id);
    if (!receiving) this.snapshotsReceiving.set(id, (receiving = new SnapshotsInMemory()));
    return receiving;
  }

  /** Runs every node's Ready loop once: persist, then send, then apply. */
  processReadies(): void {
    for (const [id, node] of this.nodes) {
      while (node.hasReady()) {
        const ready = node.ready();
        const disk = this.disks.get(id) as TestDisk;
        if (ready.snapshot) {
          disk.snapshot = ready.snapshot;
          disk.entries = [];
          this.applied.set(id, decodeCommands(snapshotBytes(ready.snapshot.data)));
        }
        if (ready.entries.length > 0) {
          const first = (ready.entries[0] as Entry).index;
          disk.entries = disk.entries.filter((e) => e.index < first).concat(ready.entries);
        }
        if (ready.hardState) disk.hardState = ready.hardState;
        this.queue.push(...ready.messages);
        const log = this.applied.get(id) as string[];
        for (const entry of ready.committedEntries) {
          if (entry.kind === 'normal' && entry.data.length > 0) log.push(new TextDecoder().decode(entry.data));
        }
        (this.readStates.get(id) as { readId: string; index: number }[]).push(...ready.readStates);
        node.advance(ready);
        for (const snapshot of this.receiving(id).store(ready.snapshotChunks)) {
          const problem = this.options.snapshotProblem?.(snapshot);
          node.snapshotReceived(snapshot.meta, problem === undefined ? { ok: true, data: snapshot.data } : { ok: false, problem });
        }
        node.checkInvariants();
      }
    }
  }

  /** Delivers queued messages (and their consequences) until nothing is left. */
  stabilize(deliveriesMax = 100_000): void {
    for (let i = 0; i < deliveriesMax; i++) {
      this.processReadies();
      const m = this.queue.shift();
      if (!m) return;
      const target = this.nodes.get(m.to);
      if (target && this.filter(m)) {
        // Every node here is correct, so none may find another's message impossible.
        const refusal = target.step(m);
        if (refusal) throw new Error(`node ${m.to} refused a ${m.type} from node ${m.from}: ${refusal.reason}`);
        target.checkInvariants();
      }
    }
    throw new Error(`cluster did not stabilize within ${deliveriesMax} deliveries`);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.node(id).checkInvariants();
    }
  }

  /** Ticks `id` until it campaigns, then lets the election play out. */
  elect(id: NodeId): void {
    const node = this.node(id);
    for (let i = 0; i < 1000 && node.status().role === 'follower'; i++) this.tick(id);
    this.stabilize();
  }

  /** Ticks every node once, then stabilizes. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.nodes.keys()) this.tick(id);
      this.stabilize();
    }
  }

  leader(): RaftNode | undefined {
    let found: RaftNode | undefined;
    for (const node of this.nodes.values()) if (node.status().role === 'leader') found = node;
    return found;
  }

  proposeAt(id: NodeId, command: string): ReturnType<RaftNode['propose']> {
    return this.node(id).propose(new TextEncoder().encode(command));
  }
}

/** Snapshot data for the test state machine: the applied command list. */
export function encodeCommands(commands: readonly string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(commands));
}

export function decodeCommands(data: Uint8Array): string[] {
  return JSON.parse(new TextDecoder().decode(data)) as string[];
}

/** Entries [low, high) from a test disk, within the limits but at least one (LogReader). */
function readDisk(disk: TestDisk, low: LogIndex, high: LogIndex, limits: { bytesMax: number; countMax: number }): Entry[] {
  const out: Entry[] = [];
  let bytes = 0;
  for (const entry of disk.entries) {
    if (entry.index < low || entry.index >= high) continue;
    bytes += entryBytes(entry);
    if (pastLimits(out.length, bytes, limits)) break;
    out.push(entry);
  }
  return out;
}
