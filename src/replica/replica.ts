/**
 * One replica of the cluster: the consensus core, its durable storage, the key-value
 * state machine, and the Ready loop that drives them, a pipeline whose parts overlap
 * (thesis §10.2.1; drain() below):
 *
 *   - persist the Readys' snapshots, entries and hard states in the write lane
 *     (write-lane.ts): one fsync at a time, each for everything that queued while the
 *     previous one ran (group commit); then send the votes and acknowledgements that
 *     waited for it, and tell the core, which only then counts its own copy;
 *   - meanwhile send the messages that promise nothing about the disk, install a
 *     received snapshot once durable, apply committed entries that are durable here
 *     (one store transaction), and answer the writes they carry and the reads they
 *     unblock.
 *
 * Any node takes any request: the core forwards proposals and ReadIndex requests to
 * the leader, and the node that took a request answers it when the entry applies
 * locally (entries carry the request id, see replica/envelope.ts).
 *
 * Leases (replica/node-leases.ts, replica/lessor.ts): every replica's lessor follows the
 * applied grants, keep-alives and revokes; the leader's, on each tick, proposes the
 * revoke of every lease past its deadline.
 *
 * Everything outside the process comes in through ports (ports.ts): the clock, the file
 * system, the peer network, the key-value store's environment, randomness, a logger.
 * The caller ticks the replica and delivers the peers' messages. The Node.js shell is
 * server/keel-node.ts; the simulator drives the same class.
 */
import {
  RaftNode,
  type RaftStatus,
  defaultRaftConfig,
  type ConfigChange,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type Outcome,
  type RaftConfig,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotMeta,
  decodeConfigEntry,
} from '../raft/index.js';
import { RaftStorage, type FileSnapshotData, lostAcknowledgedEntriesAdvice, StorageMismatchError } from '../storage/index.js';
import {
  type MvccStore,
  type ApplyItem,
  type EnvSizes,
  type KvHash,
  WatchHub,
  decodeCommand,
  prepareCommand,
  defaultLimits,
  type Limits,
  type KvResult,
  decodeMemberChange,
  encodeMemberList,
  type MemberChange,
  type MemberList,
  type AlarmMember,
  type AlarmType,
  type ClientSession,
  type Command,
  type CommandAuth,
  type CommandBody,
  type CommandResult,
  type HistoryRequest,
  type HistoryResponse,
  type RangeRequest,
  type ReadResponse,
  type AuthState,
  addsData,
  noSpaceError,
  exportEtcdSnapshot,
} from '../kv/index.js';
import type { NodeConfig } from './config.js';
import { decodeEnvelope, envelopeHeader } from './envelope.js';
import { KeelError } from './errors.js';
import { asOneRead, ReadBatch } from './read-batch.js';
import type { BatchedRead } from './read-batch.js';
import { Lessor } from './lessor.js';
import { leaderLeaseMs, leaseExtensionMs, leaseTtlMinSeconds, NodeLeases } from './node-leases.js';
import { LeadershipRounds } from './leadership-rounds.js';
import { LeaseForwarding } from './lease-forwarding.js';
import { PendingReads, PendingWrites } from './pending.js';
import { LeaderWait } from './leader-wait.js';
import { WatchSession, type StreamOutput, type WatchSessionOptions } from './watch-session.js';
import { MembershipManager, type MemberAddRequest, type MembershipHost, type MembershipResult } from './membership.js';
import { bootstrapList, bootstrapMembers, needsPublish, peerMap, selfPublished } from './member-metadata.js';
import type { Logger } from './logger.js';
import type { ReplicaPorts } from './ports.js';
import { WriteLane, type Write } from './write-lane.js';

export type Consistency = 'linearizable' | 'serializable';

export interface ReplicaStatus extends RaftStatus {
  readonly revision: number;
  readonly compactedRevision: number;
  /** The last compaction's old history is still being removed, a step per no-op (driveCompaction). */
  readonly compactionPending: boolean;
  readonly pendingWrites: number;
  readonly pendingReads: number;
  /** Alarms active in the replicated state (NOSPACE refuses writes). */
  readonly alarms: readonly AlarmMember[];
  readonly isLearner: boolean;
  /** Watchers served by this node. */
  readonly watchers: number;
  /** The data disk at its last reading (server/disk-space.ts). */
  readonly disk: { readonly freeBytes: number; readonly reserveBytes: number; readonly low: boolean };
}

export interface ReplicaCounters {
  readyLoops: number;
  /** Time spent persisting Readys (WAL write + fsync) and applying entries, in ms. */
  persistMs: number;
  applyMs: number;
  entriesPersisted: number;
  entriesApplied: number;
  messagesSent: number;
  snapshotsTaken: number;
  /** Snapshots received whole from a leader and installed in the store. */
  snapshotsInstalled: number;
  /** Stored snapshot files found damaged after the start (checkStoredSnapshot), moved aside and replaced. */
  snapshotFilesDamaged: number;
  /** Time the last automatic snapshot took: streaming the store into its file (in slices, between other work; synced), and in all, the log compacted; in ms. */
  snapshotCopyLastMs: number;
  snapshotLastMs: number;
  snapshotLastBytes: number;
  /** Times this node saw a new leader (etcd's leader_changes_seen). */
  leaderChanges: number;
  /** Times this leader acted on its leader lease instead of a heartbeat round of its own (leadershipSince). */
  leaderLeaseUses: number;
  writes: number;
  reads: number;
}

/** A message this node sent (`out`) or received (`in`), for observers such as the dashboard. */
export type MessageListener = (message: Message, direction: 'in' | 'out') => void;

/** One entry of the log's tail, without its data: what a viewer draws. */
export interface LogTailEntry {
  readonly index: LogIndex;
  readonly term: number;
  readonly kind: Entry['kind'];
}

export interface ReplicaOptions {
  readonly config: NodeConfig;
  /** The Raft storage's directory on `ports.fs`. */
  readonly raftDir: string;
  readonly ports: ReplicaPorts;
  /** The core's settings beyond the node config's (the simulator varies them per seed). */
  readonly raft?: Partial<Omit<RaftConfig, 'id' | 'electionTicks' | 'heartbeatTicks'>>;
  /** Told of each durable write and each apply (the simulator's safety monitor). */
  readonly observer?: ReplicaObserver;
}

/**
 * What an observer learns of the Ready loop: a ReadIndex request taken; a Ready's
 * snapshot, entries and hard state are durable (saveReady returned; Readys in the
 * order the core handed them out, before the messages that wait for them leave); its
 * committed entries applied (or its snapshot installed) in the store, which for a
 * pipelined Ready may come before its own write is durable (the entries it applies
 * were durable already); a snapshot of this node's own store saved; a snapshot from
 * the leader received whole and checked, about to be reported to the core.
 */
export interface ReplicaObserver {
  /** The core took a ReadIndex request (its ReadState comes with a later Ready). */
  readRequested(readId: string): void;
  persisted(ready: Ready): void;
  applied(ready: Ready): void;
  snapshotSaved(snapshot: Snapshot): void;
  snapshotReceived(meta: SnapshotMeta, problem: string | undefined): void;
}

/** The core's state, read-only, for a monitor that checks it after every input. */
export type InspectedCore = Pick<RaftNode, 'checkInvariants' | 'status' | 'entriesFrom' | 'currentSnapshot'>;

const noopCommand: Command = { body: { type: 'noop' } };
/**
 * Bytes of the entries held in memory the log keeps before a snapshot
 * (NodeConfig.snapshotCatchUpEntries, RaftConfig): large values must not make the
 * catch-up entries hold much memory. Those on disk cost none and are kept by count.
 */
const catchUpBytesMax = 16 * 1024 * 1024;
/** Expiry revokes the leader proposes per tick at most (etcd: leaseRevokeRate, 1000/s). */
const leaseExpiriesPerTickMax = 100;
/** How long a removed node lingers before it stops, in ticks. */
const removedLingerTicks = 10;
const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
/**
 * How long an automatic snapshot copies before it lets other work run: short beside a
 * tick (100 ms by default), so heartbeats, votes and requests wait at most about this
 * long for it.
 */
const snapshotSliceMs = 5;
/** Bytes of log entries read at a time when a defragmented copy is brought up to date (appliedAgain). */
const redoReadBytesMax = 4 * 1024 * 1024;

export class Replica implements MembershipHost {
  readonly counters: ReplicaCounters = {
    readyLoops: 0,
    persistMs: 0,
    applyMs: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    messagesSent: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    snapshotFilesDamaged: 0,
    snapshotCopyLastMs: 0,
    snapshotLastMs: 0,
    snapshotLastBytes: 0,
    leaderChanges: 0,
    leaderLeaseUses: 0,
    writes: 0,
    reads: 0,
  };
  private readonly writes = new PendingWrites<CommandResult>();
  private readonly reads = new PendingReads();
  /** Linearizable reads of this turn, to share one ReadIndex (read-batch.ts). */
  private readonly readBatch = new ReadBatch();
  /** Requests that met no known leader, waiting for an election to end (leader-wait.ts). */
  private readonly leaderWait = new LeaderWait();
  /** When this node sent its heartbeat rounds, for its leader lease (leadershipSince). */
  private readonly leadershipRounds = new LeadershipRounds();
  private readonly limits: Limits;
  private readonly requestIdPrefix: string;
  private requestCounter = 0;
  /**
   * Watches are served from this node's own applied state (kv/watch-hub.ts): events are
   * exactly its applied log, whoever leads.
   */
  private readonly watches: WatchHub;
  private loop: Promise<void> | undefined;
  private loopAgain = false;
  /** Makes the Readys durable, one fsync at a time, while the loop applies (write-lane.ts). */
  private readonly writeLane: WriteLane;
  private stopping: Promise<void> | undefined;
  private snapshotIndex: LogIndex;
  /** Bytes of the entries applied since the last snapshot was started or installed (snapshotEveryLogBytes). */
  private appliedBytesSinceSnapshot: number;
  /** The stored snapshot the core reads from. */
  private snapshotFile: FileSnapshotData | undefined;
  /** Checks of snapshots received from the leader, one after another (checkReceivedSnapshot). */
  private snapshotChecks: Promise<void> = Promise.resolve();
  /** The stored snapshot found at start, to be read through once the node serves (checkStoredSnapshot). */
  private readonly snapshotUnchecked: SnapshotMeta | undefined;
  /** That check, running on its own: a snapshot from the leader is not held up behind it. */
  private storedSnapshotCheck: Promise<void> = Promise.resolve();
  /** The stored snapshot's file is damaged: a new one is taken as soon as it can be (maybeSnapshot), until one replaces it (useSnapshotFile). */
  private snapshotReplacesDamaged = false;
  /** The automatic snapshot being taken, if any (maybeSnapshot): copied, compacted, saved. */
  private snapshotting: Promise<void> | undefined;
  /** Its file, once stored, until the Ready loop compacts the log to it (true: the core took it). */
  private snapshotStored: { readonly meta: SnapshotMeta; readonly data: FileSnapshotData; readonly compacted: (kept: boolean) => void } | undefined;
  private role: Role = 'follower';
  /** The leader this node knows (0: none), to count leader changes. */
  private leaderSeen: NodeId = 0;
  private readonly lessor: Lessor;
  /** Lease requests (grant, revoke, keep-alive, time-to-live, list). */
  readonly leases: NodeLeases;
  private readonly leaseForwarding: LeaseForwarding;
  private readonly membership: MembershipManager;
  /** The encoded member list the network was last set up with, to notice changes. */
  private peersFrom = '';
  /** The list object last encoded into peersFrom: the stored list is read again only after a change, so most applies compare objects, not encodings. */
  private peersFromList: MemberList | undefined;
  private publishing = false;
  /** Removed from the cluster: ticks left before it stops; undefined while a member. */
  private lingerTicksLeft: number | undefined;
  private applyWaitCounter = 0;
  /** A no-op the leader proposed to move a compaction on is in flight (driveCompaction). */
  private compactionDriven = false;
  /** The key-value file's size, refreshed after each apply (not read on every write). */
  private dbSize: number;
  /** The last storage sizes measured, answered while a defragmentation holds the store. */
  private lastSizes: EnvSizes;
  /** Set while the store is held (a defragmentation's swap): the Ready loop and reads wait for it. */
  private maintenance: Promise<unknown> | undefined;
  /** The defragmentation running, if any. */
  private defragmentation: Promise<unknown> | undefined;
  /** A NOSPACE alarm this node proposed and has not seen applied yet. */
  private raisingNoSpace = false;
  /** This node raised its NOSPACE alarm for a low disk, and lifts it when space is back. */
  private noSpaceForDisk = false;
  /**
   * The stored member list as last read; undefined: read it again. Only an applied
   * member command or an installed snapshot changes it, so it is read once after those
   * rather than on every tick and apply (and never while a defragmentation has the
   * store closed, since applies wait for it).
   */
  private membersSeen: { readonly stored: MemberList | undefined } | undefined;
  private bootstrapMembers: MemberList | undefined;
  private readonly messageListeners = new Set<MessageListener>();
  private readonly log: Logger;

  private constructor(
    readonly config: NodeConfig,
    private readonly ports: ReplicaPorts,
    private readonly raft: RaftNode,
    private readonly storage: RaftStorage,
    private readonly store: MvccStore,
    /** How long the parts of opening took, for the start-up log line. */
    private readonly startUp: { readonly snapshotLoadMs: number; readonly walReplayMs: number; readonly storeOpenMs: number },
    /** The stored snapshot found at start, which the core reads from, whether its data was checked yet, and about how many bytes of log follow it. */
    atStart: { readonly file: FileSnapshotData | undefined; readonly dataChecked: boolean; readonly logBytesAfter: number },
    private readonly observer: ReplicaObserver | undefined,
  ) {
    this.snapshotFile = atStart.file;
    this.snapshotUnchecked = atStart.dataChecked ? undefined : raft.currentSnapshot()?.meta;
    // The log since the last snapshot counts toward the next (maybeSnapshot) across a
    // restart too: a node restarted more often than it writes a snapshot's worth would
    // otherwise never take one, and its log would grow without bound.
    this.appliedBytesSinceSnapshot = atStart.logBytesAfter;
    this.log = ports.log;
    this.writeLane = new WriteLane({
      save: (write) => this.timedSave(write),
      durable: (readys) => this.durable(readys),
      failed: (error) => this.fatal(error),
    });
    this.limits = { ...defaultLimits, keyBytesMax: config.keyBytesMax, valueBytesMax: config.valueBytesMax, requestBytesMax: config.requestBytesMax };
    // Random per incarnation: a restarted node must not reuse the request ids of
    // entries its previous incarnation proposed, which may still apply.
    this.requestIdPrefix = `${config.id}.${Array.from({ length: 10 }, () => idAlphabet[ports.random.int(idAlphabet.length)]).join('')}.`;
    this.snapshotIndex = raft.currentSnapshot()?.meta.index ?? 0;
    this.lessor = new Lessor(config.requestTimeoutMs);
    this.lessor.reset(store.leases(), ports.clock.monotonicMs());
    this.leaseForwarding = new LeaseForwarding({
      id: config.id,
      leader: () => this.leaderSeen,
      send: (message) => this.send(message),
      renewOnLeader: (lease, arrivedMs) => this.leases.renewOnLeader(lease, arrivedMs),
      nowMs: () => ports.clock.monotonicMs(),
      waitMs: config.electionTicks * config.tickMs,
    });
    this.leases = new NodeLeases(
      {
        write: (body, session, auth) => this.write(body, session, auth),
        readBarrier: (consistency) => this.readBarrier(consistency),
        leadershipSince: (arrivedMs) => this.leadershipSince(arrivedMs),
        store,
        lessor: this.lessor,
        isLeader: () => this.role === 'leader',
        renewAtLeader: (lease) => this.leaseForwarding.renewAtLeader(lease),
        nowMs: () => ports.clock.monotonicMs(),
        randomInt: (bound) => ports.random.int(bound),
      },
      { ttlMinSeconds: leaseTtlMinSeconds(config.electionTicks, config.tickMs), leasesMax: config.leasesMax },
    );
    this.membership = new MembershipManager(this, () => bootstrapMembers(config));
    this.peersFrom = listKey(this.memberList());
    this.lastSizes = store.sizes();
    this.dbSize = this.lastSizes.dbSize;
    this.watches = new WatchHub({
      source: store,
      limits: { watchersMax: config.watchersMax, watcherQueueBytesMax: config.watcherQueueBytesMax },
      schedule: (task) => ports.defer(() => this.whenStoreOpen(task)),
    });
  }

  /**
   * Opens the replica's storage and recovers it: the Raft log and snapshot through
   * `ports.fs`, the key-value store through `ports.openStore`. Call start() once the
   * ports can carry messages.
   */
  static async open(options: ReplicaOptions): Promise<Replica> {
    const { config, ports } = options;
    const { log } = ports;
    const raftConfig: RaftConfig = {
      ...defaultRaftConfig,
      snapshotCatchUpEntries: config.snapshotCatchUpEntries,
      snapshotCatchUpBytesMax: catchUpBytesMax,
      ...options.raft,
      id: config.id,
      electionTicks: config.electionTicks,
      heartbeatTicks: config.heartbeatTicks,
    };
    // The store first: a snapshot it holds already is not read through before the start (RaftStorage.open).
    const storeStartMs = ports.clock.monotonicMs();
    const store = ports.openStore();
    const storeOpenMs = ports.clock.monotonicMs() - storeStartMs;
    if (store.discardedOnOpen) {
      log.warn(
        { component: 'storage' },
        'the key-value store was not synced before the machine restarted, so it may be torn: discarded it; rebuilding it from the snapshot and the log',
      );
    }
    let opened: Awaited<ReturnType<typeof RaftStorage.open>>;
    try {
      opened = await RaftStorage.open({
        fs: ports.fs,
        dir: options.raftDir,
        log: (msg) => log.warn({ component: 'storage' }, msg),
        segmentBytesMax: options.config.walSegmentBytes,
        memoryBytesMax: raftConfig.logMemoryBytesMax,
        stateHeldThrough: store.appliedIndex(),
      });
    } catch (error) {
      await store.close();
      throw error;
    }
    const { storage, persisted, snapshotFile, snapshotDataChecked, receiving, timings, logBytesAfterSnapshot } = opened;
    const snapshot = persisted.snapshot;
    if (snapshot && snapshot.meta.index > store.appliedIndex()) {
      // A snapshot installed from the leader reached the disk, but the state machine
      // had not taken it in before the process stopped.
      log.info({ index: snapshot.meta.index }, 'restoring the key-value store from the newest snapshot');
      store.restore(snapshot.meta.index, snapshot.data);
    }
    const startUp = {
      snapshotLoadMs: Math.round(timings.snapshotLoadMs),
      walReplayMs: Math.round(timings.walReplayMs),
      storeOpenMs: Math.round(storeOpenMs),
    };
    // The store applies only what the log holds durably, so a store ahead of the log
    // is this node's own evidence that its log lost entries it acknowledged (a WAL cut
    // by keel repair). The peers' word is never taken for it (RaftNode.step).
    const logEnd = persisted.entries.at(-1)?.index ?? persisted.onDisk?.terms.last() ?? snapshot?.meta.index ?? 0;
    const storeApplied = store.appliedIndex();
    if (storeApplied > logEnd) {
      await storage.close();
      await store.close();
      throw new StorageMismatchError(
        `The key-value store has applied entries up to ${storeApplied}, but the log ends at ${logEnd}; refusing to start: ${lostAcknowledgedEntriesAdvice}`,
      );
    }
    const raft = new RaftNode({
      config: raftConfig,
      persisted,
      // A joining node must not make up a configuration of its own: it learns the
      // cluster's from the leader's log or snapshot (thesis §4.1, config.ts).
      bootstrap: { voters: config.join ? [] : config.members.map((m) => m.id), learners: [] },
      random: ports.random,
      applied: store.appliedIndex(),
      snapshotStartProblem: (meta, firstBytes) => store.snapshotStartProblem(meta.index, firstBytes),
      ...(receiving ? { snapshotReceiving: receiving } : {}),
      // The write lane makes Readys durable while the loop applies (drain).
      pipelined: true,
      // Applied entries past logMemoryBytesMax are read back from the WAL.
      logReader: storage.logReader,
    });
    storage.keepEntriesFrom(raft.status().firstIndex);
    return new Replica(
      config,
      ports,
      raft,
      storage,
      store,
      startUp,
      { file: snapshotFile, dataChecked: snapshotDataChecked, logBytesAfter: logBytesAfterSnapshot },
      options.observer,
    );
  }

  /** Starts taking part: the first election ticks, and the first Ready. */
  start(): void {
    if (!this.config.join && this.config.members.length > 1) {
      // etcd's initial election tick advance: a member that starts among peers would
      // otherwise sit out a whole election timeout before its first campaign, though
      // there is no leader to hear from yet (after a whole-cluster restart that was
      // most of the time to the first write). All but one tick: the randomized part
      // of the timeout still spreads the members' campaigns (§5.2), and pre-vote with
      // the leader-lease check keeps a member that rejoins a healthy cluster from
      // disrupting it (thesis §9.6).
      for (let tick = 1; tick < this.config.electionTicks; tick++) this.raft.tick();
    }
    this.diskReading();
    this.log.info(
      { id: this.config.id, term: this.raft.status().term, applied: this.store.appliedIndex(), revision: this.store.currentRevision(), ...this.startUp },
      'node started',
    );
    // A node removed before it last stopped does not come back under its old id.
    if (this.memberList().removed.includes(this.config.id)) this.removed();
    const unchecked = this.snapshotUnchecked;
    if (unchecked) this.storedSnapshotCheck = this.checkStoredSnapshot(unchecked).catch((error: unknown) => this.fatal(error));
    this.schedule();
  }

  /** True once stopping (or stopped after a fatal error). */
  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  // -------------------------------------------------------------------------
  // Requests
  // -------------------------------------------------------------------------

  /**
   * Proposes a write and resolves with its result once applied here. While no leader
   * is known, it waits for one (leader-wait.ts) and then proposes.
   */
  write(body: CommandBody, session?: ClientSession, auth?: CommandAuth): Promise<CommandResult> {
    // A refusal is the promise's rejection, never a throw: the replica's own writes (a
    // member publishing itself) start from inside an apply, which a throw would end.
    try {
      return this.proposeWrite(body, session, auth, true);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private proposeWrite(
    body: CommandBody,
    session: ClientSession | undefined,
    auth: CommandAuth | undefined,
    mayWaitForLeader: boolean,
  ): Promise<CommandResult> {
    this.assertRunning();
    const waiting = this.writes.size + this.leaderWait.size;
    if (waiting >= this.config.pendingWritesMax) {
      throw new KeelError('OVERLOADED', `${waiting} writes are waiting (pendingWritesMax ${this.config.pendingWritesMax}); retry later`);
    }
    const command: Command = { body, timeMs: this.ports.clock.nowMs(), ...(session ? { session } : {}), ...(auth ? { auth } : {}) };
    const requestId = this.requestIdPrefix + (++this.requestCounter).toString(36);
    // The entry: the envelope, then the command, encoded into one buffer.
    const prepared = prepareCommand(command, this.limits, envelopeHeader(requestId));
    if (!prepared.ok) return Promise.resolve({ ok: false, error: prepared.error });
    const entry = prepared.value;
    if (addsData(body) && this.ports.diskSpace.low) {
      // The data disk is below its reserve (disk-space.ts): refuse before the write
      // costs anything; the alarm makes every member refuse the same.
      this.raiseNoSpace('disk');
      return Promise.resolve({ ok: false, error: noSpaceError(this.diskShortage()) });
    }
    if (addsData(body) && this.dbSize + entry.length > this.config.quotaBackendBytes) {
      // etcd's quota check (server/storage/quota.go): the node that takes the write
      // measures its own file; the alarm it raises goes through the log, so every
      // replica refuses writes from the same index on (kv/alarms.ts).
      this.raiseNoSpace('quota');
      return Promise.resolve({ ok: false, error: noSpaceError() });
    }
    const bytesMax = this.pendingWriteBytesMax();
    if (this.writes.bytes > 0 && this.writes.bytes + entry.length > bytesMax) {
      throw new KeelError('OVERLOADED', `${this.writes.bytes} bytes of writes are waiting on this node (pendingWriteBytesMax ${bytesMax}); retry later`);
    }
    const proposed = this.raft.propose(entry);
    if (!proposed.ok) {
      if (proposed.reason === 'NO_LEADER' && mayWaitForLeader) return this.afterElection().then(() => this.proposeWrite(body, session, auth, false));
      throw refusalToError(proposed);
    }
    this.counters.writes++;
    const promise = new Promise<CommandResult>((resolve, reject) => {
      this.writes.add(requestId, {
        index: proposed.index,
        forwardedTo: proposed.forwardedTo,
        bytes: entry.length,
        deadlineMs: this.ports.clock.nowMs() + this.config.requestTimeoutMs,
        resolve,
        reject,
      });
    });
    this.schedule();
    return promise;
  }

  /** A read: linearizable through ReadIndex (thesis §6.4), or serializable from local state. */
  read(request: RangeRequest, consistency: Consistency): Promise<KvResult<ReadResponse>> {
    this.counters.reads++;
    return this.readStore(consistency, (store) => store.range(request));
  }

  /** A key's version history, with the same consistency choices as read(). */
  history(request: HistoryRequest, consistency: Consistency): Promise<KvResult<HistoryResponse>> {
    this.counters.reads++;
    return this.readStore(consistency, (store) => store.history(request));
  }

  /**
   * The one gate every read of the store's tables passes. It waits for a confirmed
   * ReadIndex when linearizable, then for any defragmentation (which closes and
   * reopens the environment), and runs `read` in the same synchronous step as its last
   * check, with no turn between them in which a defragmentation could start.
   */
  private async readStore<T>(consistency: Consistency, read: (store: MvccStore) => T): Promise<T> {
    await this.readBarrier(consistency);
    return read(this.store);
  }

  /**
   * Waits until a read of the store may run: after a confirmed ReadIndex when
   * linearizable, and after any defragmentation (the store is closed meanwhile).
   * What reads the tables after it must do so in the same turn (readStore does).
   */
  async readBarrier(consistency: Consistency): Promise<void> {
    this.assertRunning();
    if (consistency === 'linearizable') await this.confirmReadIndex();
    while (this.maintenance) await this.maintenance;
  }

  /**
   * Resolves once this node, leader at `arrivedMs`, has applied every entry committed
   * before then. At once, without a round of its own, while the newest heartbeat round
   * a majority answered was sent less than the lease before `arrivedMs` (thesis §6.4.1;
   * node-leases.ts says why that is safe for lease renewals); otherwise after a
   * ReadIndex round begun now (readBarrier).
   */
  async leadershipSince(arrivedMs: number): Promise<void> {
    this.assertRunning();
    const confirmed = this.raft.leadershipConfirmed();
    const sentMs = confirmed === undefined ? undefined : this.leadershipRounds.sentAt(confirmed.round);
    const leaseMs = leaderLeaseMs(this.config.electionTicks, this.config.tickMs);
    if (confirmed === undefined || sentMs === undefined || arrivedMs - sentMs >= leaseMs) return this.readBarrier('linearizable');
    this.counters.leaderLeaseUses++;
    await this.waitApplied(confirmed.commit);
    // Then as a serializable read goes on: once no defragmentation holds the tables.
    return this.readBarrier('serializable');
  }

  /** Users, roles and the auth switch as applied here (the shell's auth service reads them). */
  authState(): AuthState {
    return this.store.authState();
  }

  /** The keys attached to lease `id` as applied here; none when it does not exist. */
  leaseKeys(id: number): readonly Uint8Array[] {
    return this.store.leaseInfo(id)?.keys ?? [];
  }

  /**
   * Resolves once the leader has confirmed a read index (thesis §6.4) asked after this
   * read arrived, and this node has applied up to it. The read joins this turn's batch,
   * which askReadIndex asks for when the Ready loop next runs.
   */
  private confirmReadIndex(mayWaitForLeader = true): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadlineMs = this.ports.clock.nowMs() + this.config.requestTimeoutMs;
      if (this.readBatch.join({ deadlineMs, resolve, reject, mayWaitForLeader })) this.schedule();
    });
  }

  /** One ReadIndex for the reads batched since the last (read-batch.ts); waits for a leader while none is known. */
  private askReadIndex(): void {
    if (this.readBatch.size === 0) return;
    const batch = this.readBatch.take();
    const readId = `${this.requestIdPrefix}r${(++this.requestCounter).toString(36)}`;
    // The read state can only come out of a later Ready, so waiting after asking is safe.
    const asked = this.raft.readIndex(readId);
    if (!asked.ok) {
      const waiting: BatchedRead[] = [];
      for (const read of batch) {
        if (asked.reason === 'NO_LEADER' && read.mayWaitForLeader) waiting.push(read);
        else read.reject(refusalToError(asked));
      }
      if (waiting.length > 0) {
        // Asked once more after the election, in the batch of that turn.
        const again = (read: BatchedRead): void => void this.confirmReadIndex(false).then(read.resolve, read.reject);
        this.afterElection().then(
          () => waiting.forEach(again),
          (error: KeelError) => waiting.forEach((read) => read.reject(error)),
        );
      }
      return;
    }
    this.observer?.readRequested(readId);
    this.reads.add(readId, asOneRead(batch));
  }

  /** A watch stream (many watchers) whose messages go to `output`. */
  openWatchSession(output: StreamOutput, refusal?: WatchSessionOptions['refusal']): WatchSession {
    this.assertRunning();
    return new WatchSession({
      hub: this.watches,
      output,
      ...(refusal ? { refusal } : {}),
      watchersPerStreamMax: this.config.watchersPerStreamMax,
      currentRevision: () => this.store.currentRevision(),
    });
  }

  // -------------------------------------------------------------------------
  // Membership (membership.ts runs the changes on the leader)
  // -------------------------------------------------------------------------

  addMember(request: MemberAddRequest): Promise<MembershipResult> {
    this.assertRunning();
    return this.membership.add(request);
  }

  removeMember(id: NodeId): Promise<MembershipResult> {
    this.assertRunning();
    return this.membership.remove(id);
  }

  promoteMember(id: NodeId): Promise<MembershipResult> {
    this.assertRunning();
    return this.membership.promote(id);
  }

  updateMember(id: NodeId, peerUrls: readonly string[]): Promise<MembershipResult> {
    this.assertRunning();
    return this.membership.update(id, peerUrls);
  }

  /** The members as applied here; before the first change, the configured ones. */
  memberList(): MemberList {
    // One object while nothing changes: membershipApplied compares lists by identity
    // after every apply, and encodes one only when it is new.
    return this.storedMembers() ?? (this.bootstrapMembers ??= bootstrapList(this.config));
  }

  memberListStored(): boolean {
    return this.storedMembers() !== undefined;
  }

  private storedMembers(): MemberList | undefined {
    this.membersSeen ??= { stored: this.store.members() };
    return this.membersSeen.stored;
  }

  /** Runs a task that reads the store's tables now, or after a defragmentation reopens them. */
  private whenStoreOpen(task: () => void): void {
    if (this.stopping) return;
    if (this.maintenance) void this.maintenance.then(() => this.whenStoreOpen(task));
    else task();
  }

  raftStatus(): RaftStatus {
    return this.raft.status();
  }

  /** The core, read-only: the simulator's safety monitor checks it after every input. */
  inspectCore(): InspectedCore {
    return this.raft;
  }

  connectedPeers(): ReadonlySet<NodeId> {
    return this.ports.network.connectedPeers();
  }

  proposeConfigChange(change: ConfigChange): LogIndex {
    const outcome = this.raft.proposeMembershipChange(change);
    if (!outcome.ok) throw refusalToError(outcome);
    this.schedule();
    return outcome.index;
  }

  proposeMemberChange(change: MemberChange): Promise<CommandResult> {
    return this.write({ type: 'member', change });
  }

  /** Resolves once this node has applied `index`; TIMEOUT (outcome unknown) after requestTimeoutMs. */
  waitApplied(index: LogIndex): Promise<void> {
    const waitId = `apply-${++this.applyWaitCounter}`;
    const promise = new Promise<void>((resolve, reject) => {
      // What waits here was proposed already: past the deadline it may still apply.
      const fail = (error: KeelError): void =>
        reject(
          error.code === 'TIMEOUT'
            ? new KeelError('TIMEOUT', `log entry ${index} did not apply in time; it may still apply: look before retrying`, 'unknown')
            : error,
        );
      this.reads.add(waitId, { deadlineMs: this.ports.clock.nowMs() + this.config.requestTimeoutMs, resolve, reject: fail });
    });
    this.reads.confirm(waitId, index, this.store.appliedIndex());
    return promise;
  }

  /**
   * Resolves once a leader is known, for at most three election timeouts (a randomized
   * timeout is below two, and a split vote costs about one more) or the request
   * timeout, whichever is shorter.
   */
  private afterElection(): Promise<void> {
    const waitMs = Math.min(this.config.requestTimeoutMs, 3 * this.config.electionTicks * this.config.tickMs);
    return this.leaderWait.wait(this.ports.clock.nowMs() + waitMs);
  }

  transferLeadership(to: number): void {
    const outcome = this.raft.transferLeadership(to);
    if (!outcome.ok) throw refusalToError(outcome);
    this.schedule();
  }

  /**
   * Entry bytes this node's clients may have waiting for the log at once. The leader
   * takes at most `uncommittedBytesMax` of uncommitted entries and drops forwarded
   * proposals beyond it without a word, so a follower's client would wait for its
   * timeout with its write in doubt. Each member admits its share of the leader's
   * bound: together they never pass it, and a write past the share is refused at once
   * (503 with Retry-After), before it costs memory anywhere. The configured bound
   * may be lower still.
   */
  private pendingWriteBytesMax(): number {
    const { voters, learners } = this.raft.membership();
    const share = Math.floor(defaultRaftConfig.uncommittedBytesMax / Math.max(1, voters.length + learners.length));
    return Math.min(this.config.pendingWriteBytesMax, share);
  }

  /**
   * The key-value file's size and the part of it in use (kv/defragment.ts), measured now
   * (about 0.2 ms), and the quota; the last measure while a defragmentation runs.
   */
  storageSizes(): EnvSizes & { readonly quotaBackendBytes: number } {
    if (!this.maintenance) this.lastSizes = this.store.sizes();
    return { ...this.lastSizes, quotaBackendBytes: this.config.quotaBackendBytes };
  }

  /**
   * Raises or clears an alarm through the log (etcd's AlarmRequest ACTIVATE / DEACTIVATE).
   * Only a member of the cluster can be named when raising one: an alarm for an id
   * that is no member would stop every write with nobody to answer for it. Clearing
   * takes any id, so an alarm left for a member since removed can be cleared.
   */
  setAlarm(action: 'activate' | 'deactivate', memberId: number, alarm: AlarmType): Promise<CommandResult> {
    if (action === 'activate' && !this.memberList().members.some((m) => m.id === memberId)) {
      throw new KeelError('MEMBER_NOT_FOUND', `member ${memberId} is not in the cluster; an alarm can be raised only for a member`);
    }
    return this.write({ type: 'alarm', action, memberId, alarm });
  }

  /** The alarms this node has applied (etcd answers AlarmRequest GET from local state too). */
  alarms(): readonly AlarmMember[] {
    return this.store.alarms();
  }

  /** HashKV of this node's store (kv/hash-kv.ts); local, like etcd's. */
  hashKv(revision: number): Promise<KvResult<KvHash & { readonly currentRevision: number }>> {
    return this.readStore('serializable', (store) => {
      const hashed = store.hashKv(revision);
      return hashed.ok ? { ok: true, value: { ...hashed.value, currentRevision: store.currentRevision() } } : hashed;
    });
  }

  /**
   * The whole store at its applied index, in the snapshot format of kv/snapshot-format.ts
   * (checksummed): what `keel snapshot save` downloads and `keel snapshot restore` seeds
   * a new cluster from. Consistent: built in one synchronous pass between applies.
   */
  snapshot(): Promise<{ readonly index: LogIndex; readonly revision: number; readonly data: Uint8Array }> {
    return this.readStore('serializable', (store) => {
      const { index, data } = store.snapshot();
      return { index, revision: store.currentRevision(), data };
    });
  }

  /**
   * The store as an etcd snapshot (kv/etcd-snapshot/export.ts): what etcd's Snapshot
   * call streams, so `etcdctl snapshot save`, `status` and `restore` work on it. Built in
   * one synchronous pass with Keel's own snapshot, which it carries, so the two agree.
   */
  etcdSnapshot(): Promise<{ readonly revision: number; readonly data: Uint8Array }> {
    return this.readStore('serializable', (store) => ({ revision: store.currentRevision(), data: exportEtcdSnapshot(store, store.snapshot().data) }));
  }

  /**
   * Rewrites the key-value file without its free pages (kv/env/defragment.ts). The
   * compacted copy is written while this node goes on serving and applying; only the
   * swap holds it (kv/mvcc/mvcc-store.ts): applies, reads and sending Raft messages wait
   * while the copy takes the file's place and the entries applied meanwhile are applied
   * to it again. One defragmentation at a time.
   */
  async defragment(): Promise<{ readonly beforeBytes: number; readonly afterBytes: number }> {
    this.assertRunning();
    while (this.defragmentation) await this.defragmentation.catch(() => undefined);
    // The pulse starts now; the copy takes longer than a heartbeat interval, so the swap's
    // redo, which holds the loop, beats from its first entry on.
    const clock = this.ports.clock;
    const startMs = clock.monotonicMs();
    let holdMs = 0;
    const hold = <T>(swap: () => Promise<T>): Promise<T> =>
      this.holdStore(async () => {
        const heldMs = clock.monotonicMs();
        try {
          return await swap();
        } finally {
          holdMs = clock.monotonicMs() - heldMs;
        }
      });
    const run = this.store.defragment({ hold, pulse: this.pulseFromNow(), redo: this.appliedAgain, between: this.nextTurn });
    this.defragmentation = run;
    try {
      const result = await run;
      this.dbSize = this.store.fileSize();
      this.log.info({ ...result, ms: Math.round(clock.monotonicMs() - startMs), holdMs: Math.round(holdMs) }, 'defragmented the key-value store');
      return { beforeBytes: result.beforeBytes, afterBytes: result.afterBytes };
    } finally {
      this.defragmentation = undefined;
    }
  }

  /**
   * The entries applied after `after` through `through`, decoded as apply() decoded them,
   * read from the Raft log a batch at a time (read back from the WAL where released):
   * what a defragmentation's copy lacks (MvccStore.RedoSource). No snapshot compacts the
   * log while a defragmentation runs (maybeSnapshot), so it holds them unless a snapshot
   * from the leader replaced it: then undefined, or, if that happens while the entries
   * are read (the copy catches up between turns of the loop), they end short.
   */
  private readonly appliedAgain = (after: LogIndex, through: LogIndex): Iterable<ApplyItem> | undefined => {
    if (after + 1 < this.raft.status().firstIndex) return undefined;
    const raft = this.raft;
    const decode = (entry: Entry): ApplyItem => ({ index: entry.index, command: this.decodeEntry(entry).command });
    return (function* () {
      for (let low = after + 1; low <= through; ) {
        const entries = raft.appliedEntries(low, through, redoReadBytesMax);
        if (entries === undefined) return;
        for (const entry of entries) yield decode(entry);
        low = (entries.at(-1) as Entry).index + 1;
      }
    })();
  };

  /** Runs `task` with the Ready loop and every read of the store held (this.maintenance). */
  private async holdStore<T>(task: () => Promise<T>): Promise<T> {
    // An automatic snapshot reads the store through a read view and needs the Ready loop,
    // which the hold stops: it finishes first, and none starts once maintenance is set
    // (no turn between the check and the assignment).
    while (this.maintenance || this.snapshotting) await (this.maintenance ?? this.snapshotting);
    const work = (async () => {
      while (this.loop) await this.loop;
      return task();
    })();
    this.maintenance = work.catch(() => undefined);
    try {
      return await work;
    } finally {
      this.maintenance = undefined;
      this.schedule();
    }
  }

  private hasOwnNoSpaceAlarm(): boolean {
    return this.store.alarms().some((a) => a.alarm === 'NOSPACE' && a.memberId === this.config.id);
  }

  /** Why the data disk refuses writes, for the error and the log. */
  private diskShortage(): string {
    return `the data disk of member ${this.config.id} has ${this.ports.diskSpace.freeBytes} bytes free, below its reserve of ${this.ports.diskSpace.reserveBytes} (--disk-reserve-bytes)`;
  }

  private raiseNoSpace(cause: 'disk' | 'quota'): void {
    if (cause === 'disk') this.noSpaceForDisk = true;
    if (this.raisingNoSpace || this.hasOwnNoSpaceAlarm()) return;
    this.raisingNoSpace = true;
    if (cause === 'disk')
      this.log.warn(
        { freeBytes: this.ports.diskSpace.freeBytes, diskReserveBytes: this.ports.diskSpace.reserveBytes },
        `${this.diskShortage()}; raising the NOSPACE alarm`,
      );
    else this.log.warn({ dbSize: this.dbSize, quotaBackendBytes: this.config.quotaBackendBytes }, 'storage quota exceeded; raising the NOSPACE alarm');
    this.proposeNoSpace('activate');
  }

  /** After each reading of the data disk: raise NOSPACE when it is low, lift the alarm raised for it when space is back. */
  diskReading(): void {
    if (this.stopping) return;
    if (this.ports.diskSpace.low) {
      this.raiseNoSpace('disk');
      return;
    }
    if (!this.noSpaceForDisk || !this.ports.diskSpace.recovered || this.raisingNoSpace) return;
    if (this.dbSize > this.config.quotaBackendBytes || !this.hasOwnNoSpaceAlarm()) {
      // Over the quota as well (an operator's alarm to lift), or already lifted.
      this.noSpaceForDisk = false;
      return;
    }
    this.log.info(
      { freeBytes: this.ports.diskSpace.freeBytes, diskReserveBytes: this.ports.diskSpace.reserveBytes },
      'the data disk has space again; lifting the NOSPACE alarm raised for it',
    );
    this.raisingNoSpace = true;
    this.proposeNoSpace('deactivate');
  }

  /** Proposes this node's NOSPACE alarm change; a failure is logged and the next write or disk reading tries again. */
  private proposeNoSpace(action: 'activate' | 'deactivate'): void {
    const done = (): void => {
      this.raisingNoSpace = false;
    };
    const failed = (error: unknown): void => {
      done();
      this.log.warn({ err: error }, `could not ${action === 'activate' ? 'raise' : 'lift'} the NOSPACE alarm; the next write or disk reading tries again`);
    };
    try {
      this.setAlarm(action, this.config.id, 'NOSPACE').then(() => {
        done();
        if (action === 'deactivate') this.noSpaceForDisk = false;
      }, failed);
    } catch (error) {
      failed(error);
    }
  }

  /** What every etcd answer's header carries: cheap, unlike status(). */
  headerState(): { readonly revision: number; readonly term: number } {
    return { revision: this.store.currentRevision(), term: this.raft.currentTerm() };
  }

  status(): ReplicaStatus {
    const raft = this.raft.status();
    return {
      ...raft,
      revision: this.store.currentRevision(),
      compactedRevision: this.store.compactedRevision(),
      compactionPending: this.store.compactionPending(),
      pendingWrites: this.writes.size,
      pendingReads: this.reads.size,
      alarms: this.store.alarms(),
      isLearner: raft.config.learners.includes(this.config.id),
      watchers: this.watches.size,
      disk: { freeBytes: this.ports.diskSpace.freeBytes, reserveBytes: this.ports.diskSpace.reserveBytes, low: this.ports.diskSpace.low },
    };
  }

  /** What this node is doing besides serving, for the log of a tick that ran late. */
  backgroundWork(): string[] {
    const work: string[] = [];
    if (this.snapshotting) work.push('taking a snapshot');
    if (this.maintenance) work.push('defragmenting');
    if (this.snapshotStored) work.push('compacting the log');
    return work;
  }

  /** The last `count` entries of the log (fewer after a compaction), oldest first. */
  logTail(count: number): LogTailEntry[] {
    const { firstIndex, lastIndex } = this.raft.status();
    return this.raft.entriesFrom(Math.max(firstIndex, lastIndex - count + 1)).map((e) => ({ index: e.index, term: e.term, kind: e.kind }));
  }

  /** Calls `listener` for every Raft message sent or received until the returned function is called. */
  observeMessages(listener: MessageListener): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  private notify(message: Message, direction: 'in' | 'out'): void {
    for (const listener of this.messageListeners) listener(message, direction);
  }

  private send(message: Message, atOnce = false): void {
    if (message.type === 'heartbeat') this.leadershipRounds.sent(message.seq, this.ports.clock.monotonicMs());
    const network = this.ports.network;
    if (atOnce && network.sendAtOnce) network.sendAtOnce(message);
    else network.send(message);
    this.notify(message, 'out');
  }

  /**
   * What the store calls between the entries and keys of one long synchronous piece of
   * work begun now (MvccStore.applyBatch, and the redo of a defragmentation's swap):
   * once it has held the event loop for a heartbeat interval, the node sends its latest
   * heartbeats again, at once (RaftNode.heartbeatsAgain), and again each interval after:
   * a leader's round, so that its followers do not elect another leader while it
   * deletes a hundred thousand keys; a follower's answer, so that its leader, whose
   * followers all apply the same entry, does not step down for want of a majority.
   * Its ticks and messages wait for the work; what must not wait is sent here.
   */
  private pulseFromNow(): () => void {
    const clock = this.ports.clock;
    const intervalMs = this.config.tickMs * this.config.heartbeatTicks;
    let lastMs = clock.monotonicMs();
    return () => {
      const now = clock.monotonicMs();
      if (now - lastMs < intervalMs) return;
      lastMs = now;
      for (const message of this.raft.heartbeatsAgain()) this.send(message, true);
    };
  }

  /** Watch progress notifications (etcd's progress notify), on the caller's timer. */
  watchProgressTick(): void {
    if (this.stopping) return;
    this.watches.progressTick();
  }

  /**
   * Stops: waits for a defragmentation and the Ready loop in progress, fails what is
   * pending, flushes and closes the storage. Messages that arrive meanwhile are ignored.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.maintenance;
    await this.loop;
    // The writes handed out are finished (their acknowledgements sent) before the WAL closes.
    await this.writeLane.drained();
    // The loop runs no more: a stored snapshot left for it is not compacted to.
    this.snapshotStored?.compacted(false);
    this.snapshotStored = undefined;
    await this.snapshotting;
    await this.snapshotChecks;
    await this.storedSnapshotCheck;
    this.useSnapshotFile(undefined);
    this.watches.closeAll('STOPPING', 'the node is shutting down; watch another node from the last revision received + 1');
    const stopping = new KeelError('STOPPING', 'the node is shutting down', 'unknown');
    this.writes.rejectAll(stopping);
    this.reads.rejectAll(stopping);
    this.readBatch.rejectAll(stopping);
    this.leaderWait.rejectAll(new KeelError('STOPPING', 'the node is shutting down'));
    this.leaseForwarding.abandon();
    await this.storage.close();
    await this.store.close();
  }

  private assertRunning(): void {
    if (this.stopping) throw new KeelError('STOPPING', 'the node is shutting down');
  }

  // -------------------------------------------------------------------------
  // The Ready loop
  // -------------------------------------------------------------------------

  /** Steps a peer's message; returns why it is impossible (the transport then drops the peer's connection). */
  receive(message: Message): string | undefined {
    if (this.stopping) return undefined;
    this.notify(message, 'in');
    if (message.type === 'leaseRenew' || message.type === 'leaseRenewResponse') {
      this.leaseForwarding.receive(message);
      return undefined;
    }
    try {
      const impossible = this.raft.step(message);
      if (impossible !== undefined) {
        // A faulty or hostile peer: this node keeps serving, with its state untouched.
        this.log.warn(
          { component: 'raft', from: message.from, type: message.type, term: message.term, reason: impossible.reason },
          'dropped a message no correct member could send',
        );
        return impossible.reason;
      }
    } catch (error) {
      // The core refuses to go on (a broken invariant): stop with its reason in
      // the log, not a stray stack.
      this.fatal(error);
      return undefined;
    }
    this.schedule();
    return undefined;
  }

  /** One tick of the logical clock (the caller's timer: every config.tickMs in production). */
  tick(): void {
    if (this.stopping) return;
    if (this.lingerTicksLeft !== undefined && --this.lingerTicksLeft === 0) this.ports.onRemoved();
    this.raft.tick();
    const now = this.ports.clock.nowMs();
    this.writes.expire(now);
    this.reads.expire(now);
    this.leaseForwarding.expire(this.ports.clock.monotonicMs());
    this.leaderWait.expire(now);
    if (this.role === 'leader') {
      this.expireLeases();
      this.driveCompaction();
    }
    this.schedule();
  }

  /**
   * A compaction frees its old history a step at each no-op entry (kv/mvcc/compaction.ts,
   * never at writes, so that a batch of them does not carry its work): while one is
   * under way, the leader proposes a no-op a tick, one at a time, busy or idle.
   */
  private driveCompaction(): void {
    if (this.compactionDriven || !this.store.compactionPending()) return;
    this.compactionDriven = true;
    const done = (): void => {
      this.compactionDriven = false;
    };
    try {
      this.write({ type: 'noop' }).then(done, done);
    } catch {
      done(); // refused at once (overloaded, no leader any more): the next tick tries again
    }
  }

  /** The leader's lessor decides; the revoke goes through the log like any write. */
  private expireLeases(): void {
    for (const expiry of this.lessor.takeExpired(this.ports.clock.monotonicMs(), leaseExpiriesPerTickMax)) {
      const revoke: CommandBody = { type: 'leaseRevoke', id: expiry.id, onlyIfRenewedAt: expiry.renewedIndex };
      // A refused or failed proposal is retried once expiryRetryMs passes (Lessor.takeExpired).
      const logFailure = (error: unknown): void => this.log.warn({ lease: expiry.id, err: error }, 'lease expiry was not applied; will retry');
      try {
        // LEASE_NOT_FOUND: a client revoked it first; nothing is left to expire.
        this.write(revoke).then((result) => (result.ok || result.error.code === 'LEASE_NOT_FOUND' ? undefined : logFailure(result.error)), logFailure);
      } catch (error) {
        logFailure(error);
      }
    }
  }

  /** Runs the Ready loop soon, once: requests arriving in the same turn share a Ready. */
  private schedule(): void {
    if (this.loop || this.maintenance) {
      this.loopAgain = true;
      return;
    }
    this.loop = new Promise<void>((resolve) => this.ports.defer(resolve))
      .then(() => this.drain())
      .catch((error: unknown) => this.fatal(error))
      .finally(() => {
        this.loop = undefined;
        if (this.loopAgain && !this.stopping) {
          this.loopAgain = false;
          this.schedule();
        }
      });
  }

  /**
   * Takes every Ready the core has and starts its parts, which overlap (thesis
   * §10.2.1; the contract is on Ready in raft/types.ts):
   *   - messages that promise nothing about this node's disk leave at once;
   *   - the snapshot, entries and hard state go to the write lane, which makes them
   *     durable one fsync at a time, then sends the votes and acknowledgements that
   *     promise them and tells the core (persisted: only now does a leader count its
   *     own copy toward a commit);
   *   - committed entries are applied and answered at once: the core hands out only
   *     entries already durable here, so they never wait for the write in flight.
   * A snapshot from the leader is installed in the store only once it is durable.
   */
  private async drain(): Promise<void> {
    this.askReadIndex();
    while (this.raft.hasReady()) {
      const ready = this.raft.ready();
      this.counters.readyLoops++;
      this.sendBeforeWrite(ready);
      this.counters.messagesSent += ready.messages.length;
      if (needsWrite(ready) || !this.writeLane.idle) this.writeLane.push(ready);
      else this.observer?.persisted(ready);
      const applyStart = this.ports.clock.monotonicMs();
      if (ready.snapshot) {
        await this.writeLane.drained();
        if (this.stopping) return;
        await this.installSnapshot(ready.snapshot);
        if (this.stopping) return;
      }
      this.apply(ready);
      this.observer?.applied(ready);
      this.counters.applyMs += this.ports.clock.monotonicMs() - applyStart;
      this.raft.applied(ready);
      if (ready.softState) {
        this.log.info({ ...ready.softState }, 'raft state changed');
        if (ready.softState.role === 'leader' && this.role !== 'leader')
          this.lessor.promote(this.ports.clock.monotonicMs(), leaseExtensionMs(this.config.electionTicks, this.config.tickMs));
        this.role = ready.softState.role;
        // As etcd counts them: a leader after none, the same one re-elected included.
        if (ready.softState.leader !== 0 && ready.softState.leader !== this.leaderSeen) this.counters.leaderChanges++;
        if (ready.softState.leader !== this.leaderSeen) this.leaseForwarding.abandon();
        this.leaderSeen = ready.softState.leader;
        this.writes.leaderChanged(ready.softState.leader);
        if (ready.softState.leader !== 0) this.leaderWait.leaderKnown();
      }
      this.maybeSnapshot();
      // Reads that arrived while this Ready was applied ask before the next is taken.
      this.askReadIndex();
    }
    // A snapshot copied since the last Ready is compacted here too.
    this.maybeSnapshot();
  }

  /** The write lane made these Readys durable: send what waited for it, then tell the core. */
  private durable(readys: readonly Ready[]): void {
    for (const ready of readys) {
      this.observer?.persisted(ready);
      this.counters.entriesPersisted += ready.entries.length;
    }
    // Figure 2: a vote or acknowledgement leaves only once the state it promises is durable.
    for (const ready of readys) for (const message of ready.messages) if (!promisesNothingDurable(message)) this.send(message);
    for (const ready of readys) this.raft.persisted(ready);
    for (const ready of readys) for (const chunk of ready.snapshotChunks) if (chunk.done) this.checkReceivedSnapshot(chunk.meta);
    // Stopping: the store is being closed, nothing more is applied.
    if (!this.stopping) this.schedule();
  }

  /**
   * Sends the Ready's messages that need not wait for its write. When the Ready has
   * entries to apply, they are written to the sockets now, not at the end of the turn:
   * the apply would hold them back, and a leader's appends that carry a new commit
   * index are what the followers, the one answering the client included, wait for.
   * One write per peer: the last message to each goes at once and takes the others.
   */
  private sendBeforeWrite(ready: Ready): void {
    const early = ready.messages.filter(promisesNothingDurable);
    if (ready.committedEntries.length === 0) {
      for (const message of early) this.send(message);
      return;
    }
    const lastToPeer = new Map<NodeId, Message>();
    for (const message of early) lastToPeer.set(message.to, message);
    for (const message of early) this.send(message, lastToPeer.get(message.to) === message);
  }

  private async timedSave(write: Write): Promise<void> {
    const startMs = this.ports.clock.monotonicMs();
    await this.storage.saveReady(write);
    this.counters.persistMs += this.ports.clock.monotonicMs() - startMs;
  }

  /**
   * Installs a snapshot from the leader in the store, a write transaction at a time
   * between other work (a store of a gigabyte held the event loop for seconds in one
   * call). Meanwhile the store is half restored: every read waits (readBarrier, the
   * watchers' catch-up) as for a defragmentation, and the Ready loop, which runs this,
   * applies nothing else until it is done. Checked whole when its last chunk arrived
   * (checkReceivedSnapshot), the only way the core takes a snapshot from the leader.
   */
  /** Resolves on a later turn of the event loop (the deferral port): what slices of long work await between them. */
  private readonly nextTurn = (): Promise<void> => new Promise((resolve) => this.ports.defer(() => resolve()));

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const startMs = this.ports.clock.monotonicMs();
    const restoring = this.store.restoreInSlices(snapshot.meta.index, snapshot.data, true, snapshotSliceMs, this.nextTurn);
    this.maintenance = restoring.catch(() => undefined);
    try {
      await restoring;
    } finally {
      this.maintenance = undefined;
      this.membersSeen = undefined;
    }
    this.lessor.reset(this.store.leases(), this.ports.clock.monotonicMs());
    this.snapshotIndex = snapshot.meta.index;
    this.appliedBytesSinceSnapshot = 0;
    this.counters.snapshotsInstalled++;
    // The snapshot skipped entries this node never applied: its watchers re-read
    // them from the snapshot's history rather than miss them.
    this.watches.restored();
    this.log.info({ index: snapshot.meta.index, ms: Math.round(this.ports.clock.monotonicMs() - startMs) }, 'installed a snapshot from the leader');
  }

  private apply(ready: Ready): void {
    if (ready.committedEntries.length > 0) {
      const requestIds: (string | undefined)[] = [];
      const items: ApplyItem[] = ready.committedEntries.map((entry) => {
        const { requestId, command } = this.decodeEntry(entry);
        requestIds.push(requestId);
        if (command.body.type === 'member') this.membersSeen = undefined;
        return { index: entry.index, command };
      });
      const outcomes = this.store.applyBatch(items, { pulse: this.pulseFromNow(), prevValues: this.watches.wantsPrevValues() });
      const now = this.ports.clock.monotonicMs();
      this.watches.publish(
        outcomes.flatMap((outcome) => (outcome.status === 'skipped' ? [] : outcome.events)),
        this.store.currentRevision(),
      );
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'applied') followLease(this.lessor, (items[i] as ApplyItem).command.body, outcome.index, outcome.result, now);
        this.writes.applied(outcome.index, requestIds[i], () =>
          outcome.status === 'skipped' ? { ok: false, error: { code: 'BAD_COMMAND', message: 'entry was applied before a restart' } } : outcome.result,
        );
      });
      this.counters.entriesApplied += items.length;
      for (const entry of ready.committedEntries) this.appliedBytesSinceSnapshot += entry.data.length;
    }
    if (ready.snapshot || ready.committedEntries.length > 0) this.dbSize = this.store.fileSize();
    for (const state of ready.readStates) this.reads.confirm(state.readId, state.index, this.store.appliedIndex());
    this.reads.appliedTo(this.store.appliedIndex());
    if (ready.snapshot || ready.committedEntries.length > 0) this.membershipApplied();
  }

  /** After an apply: follow the member list with the transport, leave if removed, publish self. */
  private membershipApplied(): void {
    const list = this.memberList();
    if (list !== this.peersFromList) {
      this.peersFromList = list;
      const key = listKey(list);
      if (key !== this.peersFrom) {
        this.peersFrom = key;
        this.ports.network.updatePeers(peerMap(list, this.config.id));
        this.log.info({ members: list.members.map((m) => m.id), removed: list.removed }, 'member list changed');
      }
    }
    if (list.removed.includes(this.config.id)) {
      this.removed();
      return;
    }
    if (this.memberListStored() && needsPublish(list, this.config) && !this.publishing) this.publish();
  }

  /** etcd's publish: a member announces its name and client URLs once it runs, through the log. */
  private publish(): void {
    this.publishing = true;
    const own = selfPublished(this.config);
    this.write({ type: 'member', change: { op: 'publish', id: this.config.id, ...own } })
      .then(
        (result) => this.log.info({ ok: result.ok }, "published this member's name and client URLs"),
        (error: unknown) => this.log.warn({ err: error }, "publishing this member's client URLs failed; will retry"),
      )
      .finally(() => {
        this.publishing = false;
      });
  }

  /** This node was removed from the cluster: it must not take part any more (etcd shuts such a member down). */
  removed(): void {
    if (this.stopping || this.lingerTicksLeft !== undefined) return;
    this.lingerTicksLeft = removedLingerTicks;
    this.log.warn({ id: this.config.id }, 'this node was removed from the cluster; stopping');
    // As etcd does (stopWithDelay), linger a few ticks: a removed leader still answers
    // the request that removed it and tells the followers the change is committed.
  }

  private decodeEntry(entry: Entry): { requestId: string | undefined; command: Command } {
    if (entry.kind === 'config') return { requestId: undefined, command: configEntryCommand(entry) };
    if (entry.data.length === 0) return { requestId: undefined, command: noopCommand };
    const envelope = decodeEnvelope(entry.data);
    if (!envelope) {
      this.log.error({ index: entry.index }, 'log entry has no request envelope; applying it as a no-op');
      return { requestId: undefined, command: noopCommand };
    }
    const decoded = decodeCommand(envelope.command);
    if (!decoded.ok) {
      // Every replica decodes the same bytes the same way, so they all skip it alike.
      this.log.error({ index: entry.index, error: decoded.error }, 'log entry does not decode; applying it as a no-op');
      return { requestId: envelope.requestId, command: noopCommand };
    }
    return { requestId: envelope.requestId, command: decoded.value };
  }

  /**
   * §7: snapshot the state machine and compact the log every snapshotEveryEntries, or
   * sooner once the entries applied since the last add up to snapshotEveryLogBytes:
   * the core holds the log between snapshots in memory, and with large values the
   * count alone would let it grow to gigabytes. The copy is taken in the background,
   * a slice at a time from a read view of the store
   * (MvccStore.openSnapshotStream), while the Ready loop goes on: made in one piece, a
   * store of a few hundred MB held the event loop for seconds, longer than the
   * election timeout, so the leader lost its term at every snapshot, and a node
   * restarted with a snapshot due went silent before its first election.
   */
  private maybeSnapshot(): void {
    const stored = this.snapshotStored;
    if (stored) {
      // Between two Readys, where the Ready loop runs this: the log is compacted when no
      // Ready is being applied, and never waits for a quiet moment that a busy node does
      // not have. A write in flight holds only entries past the applied index, which the
      // compaction does not reach.
      this.snapshotStored = undefined;
      this.raft.compact({ index: stored.meta.index, data: stored.data });
      this.storage.keepEntriesFrom(this.raft.status().firstIndex);
      // A newer snapshot from the leader may have been installed meanwhile: then this one is moot.
      const kept = this.raft.currentSnapshot()?.data === stored.data;
      if (kept) this.useSnapshotFile(stored.data);
      stored.compacted(kept);
      return;
    }
    // Nor while a defragmentation runs: its swap reads the entries applied during its copy from the log.
    if (this.snapshotting || this.maintenance || this.defragmentation || this.stopping) return;
    if (!this.snapshotReplacesDamaged && !this.snapshotDue()) return;
    // Restarted with the store ahead of the commit index on disk: wait to learn it again.
    if (!this.raft.canSnapshotAt(this.store.appliedIndex())) return;
    // Entries applied while the snapshot is taken count toward the next one.
    this.appliedBytesSinceSnapshot = 0;
    this.snapshotting = this.takeSnapshot()
      .catch((error: unknown) => this.fatal(error))
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  /** The log since the last snapshot has grown enough for the next one. */
  private snapshotDue(): boolean {
    const entriesDue = this.store.appliedIndex() - this.snapshotIndex >= this.config.snapshotEveryEntries;
    if (!entriesDue && this.appliedBytesSinceSnapshot < this.config.snapshotEveryLogBytes) return false;
    // Thesis §5.1.2: a snapshot copies the whole store, so it waits until the log has
    // grown to a share of the last one's size; the copies then cost a bounded share of
    // the writes, however large the store.
    const lastSnapshotBytes = this.snapshotFile?.byteLength ?? 0;
    return this.appliedBytesSinceSnapshot >= (lastSnapshotBytes * this.config.snapshotLogPercent) / 100;
  }

  /**
   * The store is streamed from a read view straight into the snapshot file, a chunk at a
   * time (MvccStore.openSnapshotStream), and the core then reads the chunks it sends
   * from that file: no copy of the store is ever held in memory.
   */
  private async takeSnapshot(): Promise<void> {
    const clock = this.ports.clock;
    const startMs = clock.monotonicMs();
    // The read view, at an index applied by the time it is open: what the core records
    // there is taken at once, before a compaction or a snapshot from the leader moves past it.
    const stream = await this.store.openSnapshotStream(snapshotSliceMs, this.nextTurn);
    if (this.stopping || !this.raft.canSnapshotAt(stream.index)) {
      stream.close();
      return;
    }
    const meta = this.raft.snapshotMetaAt(stream.index);
    let data: FileSnapshotData;
    try {
      data = await this.storage.saveSnapshot({ meta, chunks: stream.chunks });
    } finally {
      stream.close();
    }
    const copyMs = clock.monotonicMs() - startMs;
    const kept =
      !this.stopping &&
      (await new Promise<boolean>((compacted) => {
        this.snapshotStored = { meta, data, compacted };
        this.schedule();
      }));
    if (!kept) {
      await data.close();
      return;
    }
    this.observer?.snapshotSaved({ meta, data });
    this.snapshotIndex = Math.max(this.snapshotIndex, meta.index);
    const totalMs = clock.monotonicMs() - startMs;
    Object.assign(this.counters, { snapshotCopyLastMs: copyMs, snapshotLastMs: totalMs, snapshotLastBytes: data.byteLength });
    this.counters.snapshotsTaken++;
    this.log.info(
      { index: meta.index, bytes: data.byteLength, copyMs: Math.round(copyMs), totalMs: Math.round(totalMs) },
      'took a snapshot and compacted the log',
    );
  }

  /**
   * The last chunk of a snapshot from the leader is durable: check the whole, read from
   * its file a slice at a time between other work, and tell the core, which installs a
   * good one with its bytes as stored here (they are read from the file from now on)
   * and asks the leader again for a bad one.
   */
  private checkReceivedSnapshot(meta: SnapshotMeta): void {
    const check = async (): Promise<void> => {
      const data = await this.storage.receivedSnapshot(meta);
      const problem = await this.store.snapshotProblem(meta.index, data, snapshotSliceMs, this.nextTurn);
      if (this.stopping) {
        this.closeSnapshotFile(data);
        return;
      }
      if (problem !== undefined)
        this.log.error({ index: meta.index, term: meta.term, problem }, 'a snapshot received from the leader cannot be installed; asking for it again');
      this.observer?.snapshotReceived(meta, problem);
      this.raft.snapshotReceived(meta, problem === undefined ? { ok: true, data } : { ok: false, problem });
      if (this.raft.currentSnapshot()?.data === data) this.useSnapshotFile(data);
      else this.closeSnapshotFile(data);
      this.schedule();
    };
    const previous = this.snapshotChecks;
    this.snapshotChecks = previous.then(check).catch((error: unknown) => this.fatal(error));
  }

  /**
   * Reads through the stored snapshot found at start, which the state machine held
   * already, so RaftStorage.open checked only its header: with gigabytes of store, the
   * whole took seconds before the node could serve. A damaged one is moved aside, and a
   * new snapshot is taken as soon as the store has applied past it. Until then the core
   * may still send it; a follower refuses it whole, since its state machine checks every
   * snapshot it receives (MvccStore.snapshotProblem), and asks again.
   */
  private async checkStoredSnapshot(meta: SnapshotMeta): Promise<void> {
    const startMs = this.ports.clock.monotonicMs();
    let problem: string | undefined;
    try {
      // A chunk per turn of the loop; given up at the next once the node stops.
      problem = await this.storage.snapshotDataProblem(meta, async () => {
        await this.nextTurn();
        if (this.stopping) throw new Error('stopping');
      });
    } catch (error) {
      if (this.stopping) return;
      throw error;
    }
    const checkMs = Math.round(this.ports.clock.monotonicMs() - startMs);
    if (this.stopping) return;
    if (problem === undefined) {
      this.log.info({ index: meta.index, checkMs }, 'the snapshot file found at start is intact');
      return;
    }
    const movedAside = await this.storage.quarantineSnapshot(meta);
    this.counters.snapshotFilesDamaged++;
    this.log.error(
      { index: meta.index, term: meta.term, problem, movedAside },
      'SNAPSHOT DAMAGED: the snapshot file found at start fails its check and is moved aside; the key-value store holds everything it covers, so a new snapshot replaces it',
    );
    // Unless a newer snapshot, taken or installed meanwhile, has already.
    if (this.raft.currentSnapshot()?.meta.index !== meta.index) return;
    this.snapshotReplacesDamaged = true;
    this.schedule();
  }

  /** Makes `file` the one the core reads its snapshot from, and closes the one it replaces. */
  private useSnapshotFile(file: FileSnapshotData | undefined): void {
    const previous = this.snapshotFile;
    this.snapshotFile = file;
    if (previous === file) return;
    if (previous) this.closeSnapshotFile(previous);
    this.snapshotReplacesDamaged = false;
  }

  private closeSnapshotFile(file: FileSnapshotData): void {
    file.close().catch((error: unknown) => this.log.warn({ err: error }, 'could not close a snapshot file'));
  }

  private fatal(error: unknown): void {
    // Storage failures (fsync errors above all) are never retried: the only safe
    // continuation is to crash and recover from what is durable.
    this.log.error({ err: error }, 'fatal error in the Ready loop; the node must stop');
    this.stopping ??= Promise.resolve();
    this.ports.onFatal(error);
  }
}

/** Tells the lessor what a lease entry did once applied. */
function followLease(lessor: Lessor, body: CommandBody, index: LogIndex, result: CommandResult, nowMs: number): void {
  if (!result.ok) return;
  const response = result.response;
  if (response.type === 'leaseGrant' || response.type === 'leaseKeepAlive') {
    lessor.renewed({ id: response.id, ttl: response.ttl, renewedIndex: index }, nowMs);
  } else if (response.type === 'leaseRevoke' && response.revoked && body.type === 'leaseRevoke') {
    lessor.revoked(body.id);
  }
}

/** Whether the Ready has something to make durable, or messages that must wait for an earlier write. */
function needsWrite(ready: Ready): boolean {
  return (
    ready.snapshot !== undefined ||
    ready.snapshotChunks.length > 0 ||
    ready.hardState !== undefined ||
    ready.entries.length > 0 ||
    !ready.messages.every(promisesNothingDurable)
  );
}

/**
 * Messages whose sending does not depend on this Ready reaching the disk: a leader's
 * appends, heartbeats, snapshot chunks and TimeoutNow carry a term made durable when
 * it campaigned, and forwarded requests and read answers promise nothing at all. Votes,
 * vote requests and every acknowledgement wait for the fsync (Figure 2).
 */
function promisesNothingDurable(message: Message): boolean {
  switch (message.type) {
    case 'append':
    case 'heartbeat':
    case 'snapshot':
    case 'timeoutNow':
    case 'propose':
    case 'readIndex':
    case 'readIndexResponse':
      return true;
    default:
      return false;
  }
}

/**
 * A config entry applies its member metadata (the change's context), so the member
 * list changes at the same log index as the configuration. An entry without one (the
 * core's own tests and the simulator) applies as a no-op.
 */
function configEntryCommand(entry: Entry): Command {
  const { context } = decodeConfigEntry(entry.data).change;
  if (context === undefined) return noopCommand;
  try {
    return { body: { type: 'member', change: decodeMemberChange(new TextEncoder().encode(context)) } };
  } catch {
    // Every replica decodes the same bytes alike, so all apply the same no-op.
    return noopCommand;
  }
}

function listKey(list: MemberList): string {
  return new TextDecoder().decode(encodeMemberList(list));
}

function refusalToError(outcome: Extract<Outcome<object>, { ok: false }>): KeelError {
  switch (outcome.reason) {
    case 'NO_LEADER':
      return new KeelError('NO_LEADER', 'no leader is known right now; retry shortly');
    case 'NOT_LEADER':
      return new KeelError('NOT_LEADER', outcome.message);
    case 'TRANSFERRING':
      return new KeelError('TRANSFERRING', outcome.message);
    case 'UNCOMMITTED_BYTES_LIMIT':
    case 'READ_QUEUE_FULL':
      return new KeelError('OVERLOADED', outcome.message);
    case 'ENTRY_TOO_LARGE':
      return new KeelError('TOO_LARGE', outcome.message);
    case 'CONFIG_CHANGE_PENDING':
    case 'NOT_COMMITTED_IN_TERM':
      // Both clear up within a round trip or two: the client retries.
      return new KeelError('CONFIG_CHANGE_PENDING', outcome.message);
    default:
      return new KeelError('BAD_REQUEST', outcome.message);
  }
}
