/**
 * The node runtime's Node.js shell around the replica (replica/replica.ts, which owns
 * the consensus core, the durable storage, the key-value state machine and the Ready
 * loop). The shell wires real I/O to the replica's ports: timers that tick it, the
 * data directory's file system, the peer transport, LMDB, the data disk's free-space
 * watch, crypto randomness; and it adds what needs the process itself: user tokens
 * and passwords (server/auth), calls to other members' client ports (the removal
 * check, forwarded membership changes), leadership moves that wait on the clock.
 *
 * The api layer sees it through narrow views (node-views.ts); its request methods
 * pass straight to the replica.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { type LogIndex, type Message, type NodeId, isVoter } from '../raft/index.js';
import { NodeFileSystem, FaultyDisk } from '../storage/index.js';
import {
  MvccStore,
  type EnvSizes,
  type KvHash,
  type KvResult,
  type MemberList,
  type AlarmMember,
  type AlarmType,
  type ClientSession,
  type CommandAuth,
  type CommandBody,
  type CommandResult,
  type HistoryRequest,
  type HistoryResponse,
  type RangeRequest,
  type ReadResponse,
} from '../kv/index.js';
import { Transport, type FaultHooks, type TransportStats } from '../transport/index.js';
import type { KeyValueNode, MaintenanceNode, MembershipNode, ObservedNode } from './node-views.js';
import { peerAuth } from './peer-auth.js';
import {
  type NodeConfig,
  selfAddress,
  KeelError,
  type Logger,
  type StreamOutput,
  type WatchSession,
  type WatchSessionOptions,
  type MemberAddRequest,
  type MembershipResult,
  type NodeLeases,
  peerMap,
  Replica,
  type Consistency,
  type LogTailEntry,
  type MessageListener,
  type ReplicaCounters,
  type ReplicaStatus,
} from '../replica/index.js';
import { memberFetchFor } from './member-fetch.js';
import type { FetchFunction } from '../tls/index.js';
import { RemovalCheck } from './removal-check.js';
import { DiskSpaceWatch, freeBytesAt } from './disk-space.js';
import { LateTicks } from './late-ticks.js';
import { NodeAuth } from './auth/node-auth.js';
import { loadTokenProvider } from './auth/load-tokens.js';

export type { Consistency, LogTailEntry, MessageListener };
export type NodeStatus = ReplicaStatus;
export type NodeCounters = ReplicaCounters;

/** The lessor's clock: monotonic, so a wall-clock jump neither expires nor prolongs leases. */
const monotonicMs = (): number => performance.now();

/** The parts KeelNode.open wires together. */
interface NodeParts {
  readonly replica: Replica;
  readonly transport: Transport;
  readonly diskSpace: DiskSpaceWatch;
  readonly auth: NodeAuth;
  readonly disk: FaultyDisk | undefined;
}

export class KeelNode implements KeyValueNode, MembershipNode, MaintenanceNode, ObservedNode {
  private readonly replica: Replica;
  /** Users, roles, logins and the permission check of every request (server/auth). */
  readonly auth: NodeAuth;
  /** Calls to other members' client ports (forwarded membership changes, the removal check). */
  readonly memberFetch: FetchFunction;
  /** Disk fault hooks, on a node started with fault injection. */
  readonly disk: FaultyDisk | undefined;
  private readonly transport: Transport;
  private readonly diskSpace: DiskSpaceWatch;
  private readonly removalCheck: RemovalCheck;
  private readonly tickTimer: NodeJS.Timeout;
  private readonly progressTimer: NodeJS.Timeout;
  private stopping: Promise<void> | undefined;
  /** Ticks the event loop held back by half an election timeout or more, logged. */
  private readonly lateTicks: LateTicks;

  private constructor(
    readonly config: NodeConfig,
    private readonly log: Logger,
    parts: NodeParts,
  ) {
    this.replica = parts.replica;
    this.transport = parts.transport;
    this.diskSpace = parts.diskSpace;
    this.auth = parts.auth;
    this.disk = parts.disk;
    this.memberFetch = memberFetchFor(config);
    this.removalCheck = new RemovalCheck({
      self: config.id,
      leaderlessMsMax: 3 * config.electionTicks * config.tickMs,
      log,
      onRemoved: () => this.replica.removed(),
      fetch: this.memberFetch,
    });
    this.lateTicks = new LateTicks({
      tickMs: config.tickMs,
      lateMsMin: (config.electionTicks * config.tickMs) / 2,
      log,
      background: () => this.replica.backgroundWork(),
    });
    this.tickTimer = setInterval(() => this.tick(), config.tickMs);
    this.progressTimer = setInterval(() => this.replica.watchProgressTick(), config.watchProgressNotifyMs);
  }

  /** Opens the node's storage (recovering it), joins the cluster and starts ticking. */
  static async start(config: NodeConfig, log: Logger, onFatal: (error: unknown) => void, onRemoved: () => void = () => {}): Promise<KeelNode> {
    await mkdir(config.dataDir, { recursive: true });
    try {
      return await KeelNode.open(config, log, onFatal, onRemoved);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      const free = await freeBytesAt(config.dataDir).catch(() => undefined);
      throw new Error(
        `Cannot start node ${config.id}: the disk holding ${config.dataDir} is full (${free ?? 'unknown'} bytes free): ${(error as Error).message}. ` +
          'Free space on that file system or move the data directory to a larger one, then start the node again; nothing durable was lost. ' +
          `Once running, the node keeps ${config.diskReserveBytes} bytes free (--disk-reserve-bytes) and refuses writes below that instead of filling the disk.`,
        { cause: error },
      );
    }
  }

  private static async open(config: NodeConfig, log: Logger, onFatal: (error: unknown) => void, onRemoved: () => void): Promise<KeelNode> {
    const self = selfAddress(config);
    const tokens = await loadTokenProvider(config);
    // Before anything is opened: a node that cannot authenticate its peers must not start.
    const peerSecurity = await peerAuth(config, log);
    if (config.faultPowerLoss && !config.enableFaultInjection) throw new Error('faultPowerLoss needs enableFaultInjection');
    if (config.faultBootId !== undefined && !config.enableFaultInjection) throw new Error('faultBootId needs enableFaultInjection');
    // Disk faults exist only on a node started with fault injection (as the network's do).
    const disk = config.enableFaultInjection ? new FaultyDisk(new NodeFileSystem(), config.faultPowerLoss) : undefined;
    if (config.faultPowerLoss) log.warn({ component: 'storage' }, 'power-loss simulation: WAL writes reach the disk only at fsync; a kill -9 loses the rest');
    let node: KeelNode | undefined;
    let transport: Transport | undefined;
    // Read once before the store opens, then every diskCheckMs; a reading reaches the
    // replica once the node exists (writes cannot arrive before it does).
    const diskSpace = await DiskSpaceWatch.start({
      dir: config.dataDir,
      reserveBytes: config.diskReserveBytes,
      checkMs: config.diskCheckMs,
      onReading: () => {
        if (!node?.stopping) node?.replica.diskReading();
      },
      onError: (error) => log.warn({ err: error }, 'could not read the free space of the data disk'),
    });
    // The store writes its pages through a shared mapping (kv/env/lmdb-env.ts): a page
    // the disk has no room for stops the process with SIGBUS, which no handler can turn
    // into a message. So a start below the reserve, which may replay the log into the
    // store, says beforehand what a bus error would mean.
    if (diskSpace.low) {
      log.warn(
        { component: 'storage', freeBytes: diskSpace.freeBytes, reserveBytes: config.diskReserveBytes },
        `the disk holding ${config.dataDir} has ${diskSpace.freeBytes} bytes free, below the reserve (--disk-reserve-bytes); writes will be refused, and if the node stops with a bus error (SIGBUS) while it opens its store, the disk is full: free space on it and start the node again, nothing durable is lost`,
      );
    }
    try {
      const replica = await Replica.open({
        config,
        raftDir: join(config.dataDir, 'raft'),
        ports: {
          clock: { nowMs: () => Date.now(), monotonicMs },
          fs: disk ?? new NodeFileSystem(),
          network: {
            send: (message) => transport?.send(message),
            sendAtOnce: (message) => transport?.sendAtOnce(message),
            updatePeers: (peers) => transport?.updatePeers(peers),
            connectedPeers: () =>
              new Set(
                transport
                  ?.stats()
                  .peers.filter((p) => p.connected)
                  .map((p) => p.id) ?? [],
              ),
          },
          // Deferred sync (lmdb-env.ts): applies fsync nothing; the store is a cache of the
          // snapshot and the WAL, which rebuild it when a system crash may have torn it.
          openStore: () =>
            MvccStore.open({ path: join(config.dataDir, 'kv'), sync: 'deferred', ...(config.faultBootId !== undefined ? { bootId: config.faultBootId } : {}) }),
          random: { int: (bound) => randomInt(bound) },
          log,
          defer: (task) => setImmediate(task),
          diskSpace,
          onFatal: (error) => {
            node?.halt();
            onFatal(error);
          },
          onRemoved,
        },
      });
      transport = await Transport.start({
        nodeId: config.id,
        clusterId: config.clusterId,
        listen: { host: config.peerListenHost ?? self.host, port: self.peerPort },
        peers: peerMap(replica.memberList(), config.id),
        // Messages that arrive before the node is wired up are dropped, as a lost message would be.
        onMessage: (message: Message) => node?.replica.receive(message),
        ...peerSecurity,
        faultInjection: config.enableFaultInjection,
        log: (level, msg, fields) => log[level]({ component: 'transport', ...fields }, msg),
      });
      const auth = new NodeAuth(
        {
          authState: () => replica.authState(),
          write: (body) => replica.write(body),
          readBarrier: () => replica.readBarrier('linearizable'),
          leaseKeys: (id) => replica.leaseKeys(id),
        },
        tokens,
        // etcd's --client-cert-auth: a verified client certificate's common name is the user.
        { clientCertAuth: config.clientCertAuth },
      );
      node = new KeelNode(config, log, { replica, transport, diskSpace, auth, disk });
      replica.start();
      return node;
    } catch (error) {
      diskSpace.stop();
      throw error;
    }
  }

  private tick(): void {
    this.lateTicks.tick();
    this.replica.tick();
    this.removalCheck.tick(Date.now(), this.replica.raftStatus().leader, () => this.replica.memberList());
  }

  // -------------------------------------------------------------------------
  // Requests: the replica serves them
  // -------------------------------------------------------------------------

  get counters(): NodeCounters {
    return this.replica.counters;
  }

  /** Lease requests (grant, revoke, keep-alive, time-to-live, list). */
  get leases(): NodeLeases {
    return this.replica.leases;
  }

  write(body: CommandBody, session?: ClientSession, auth?: CommandAuth): Promise<CommandResult> {
    return this.replica.write(body, session, auth);
  }

  read(request: RangeRequest, consistency: Consistency): Promise<KvResult<ReadResponse>> {
    return this.replica.read(request, consistency);
  }

  history(request: HistoryRequest, consistency: Consistency): Promise<KvResult<HistoryResponse>> {
    return this.replica.history(request, consistency);
  }

  openWatchSession(output: StreamOutput, refusal?: WatchSessionOptions['refusal']): WatchSession {
    return this.replica.openWatchSession(output, refusal);
  }

  addMember(request: MemberAddRequest): Promise<MembershipResult> {
    return this.replica.addMember(request);
  }

  removeMember(id: NodeId): Promise<MembershipResult> {
    return this.replica.removeMember(id);
  }

  promoteMember(id: NodeId): Promise<MembershipResult> {
    return this.replica.promoteMember(id);
  }

  updateMember(id: NodeId, peerUrls: readonly string[]): Promise<MembershipResult> {
    return this.replica.updateMember(id, peerUrls);
  }

  memberList(): MemberList {
    return this.replica.memberList();
  }

  transferLeadership(to: number): void {
    this.replica.transferLeadership(to);
  }

  /**
   * etcd's MoveLeader: hands leadership to voter `to` (thesis §3.10) and resolves once
   * this node sees `to` lead. Fails if this node does not lead, if `to` is not a voter,
   * or if the transfer is abandoned (the core gives up when `to` has not caught up and
   * campaigned within an election timeout) or not done by `timeoutMs`.
   */
  async moveLeader(to: number, timeoutMs: number): Promise<void> {
    this.assertRunning();
    const status = this.replica.raftStatus();
    if (status.role !== 'leader')
      throw new KeelError(
        'NOT_LEADER',
        `node ${this.config.id} is not the leader (the leader is ${status.leader || 'unknown'}); send move-leader to the leader`,
      );
    if (to === this.config.id) return;
    if (!isVoter(status.config, to)) {
      throw new KeelError('BAD_LEADER_TRANSFEREE', `node ${to} cannot lead: it is not a voting member (voters: ${status.config.voters.join(', ')})`);
    }
    this.replica.transferLeadership(to);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.config.tickMs));
      const now = this.replica.raftStatus();
      if (now.leader === to) return;
      if (now.role === 'leader' && now.transferee === 0) {
        throw new KeelError(
          'LEADER_TRANSFER_TIMEOUT',
          `leadership transfer to node ${to} was abandoned: it did not catch up and take over within an election timeout`,
        );
      }
      if (Date.now() > deadline)
        throw new KeelError(
          'LEADER_TRANSFER_TIMEOUT',
          `node ${to} did not take over leadership within ${timeoutMs} ms (leader now: ${now.leader || 'unknown'})`,
        );
    }
  }

  storageSizes(): EnvSizes & { readonly quotaBackendBytes: number } {
    return this.replica.storageSizes();
  }

  setAlarm(action: 'activate' | 'deactivate', memberId: number, alarm: AlarmType): Promise<CommandResult> {
    return this.replica.setAlarm(action, memberId, alarm);
  }

  alarms(): readonly AlarmMember[] {
    return this.replica.alarms();
  }

  hashKv(revision: number): Promise<KvResult<KvHash & { readonly currentRevision: number }>> {
    return this.replica.hashKv(revision);
  }

  snapshot(): Promise<{ readonly index: LogIndex; readonly revision: number; readonly data: Uint8Array }> {
    return this.replica.snapshot();
  }

  /** The store as an etcd snapshot (replica.ts): what etcd's Snapshot call streams. */
  etcdSnapshot(): Promise<{ readonly revision: number; readonly data: Uint8Array }> {
    return this.replica.etcdSnapshot();
  }

  defragment(): Promise<{ readonly beforeBytes: number; readonly afterBytes: number }> {
    return this.replica.defragment();
  }

  status(): NodeStatus {
    return this.replica.status();
  }

  headerState(): { readonly revision: number; readonly term: number } {
    return this.replica.headerState();
  }

  logTail(count: number): LogTailEntry[] {
    return this.replica.logTail(count);
  }

  observeMessages(listener: MessageListener): () => void {
    return this.replica.observeMessages(listener);
  }

  get faults(): FaultHooks | undefined {
    return this.transport.faults;
  }

  transportStats(): TransportStats {
    return this.transport.stats();
  }

  // -------------------------------------------------------------------------
  // Stopping
  // -------------------------------------------------------------------------

  /** Stops ticking, fails what is pending, flushes and closes everything. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.halt();
    await this.replica.stop();
    await this.transport.close();
    this.log.info({ id: this.config.id }, 'node stopped');
  }

  /** Stops the timers and the watches of the outside world (after a fatal error too). */
  private halt(): void {
    clearInterval(this.tickTimer);
    clearInterval(this.progressTimer);
    this.lateTicks.stop();
    this.diskSpace.stop();
    this.removalCheck.stop();
  }

  private assertRunning(): void {
    if (this.stopping || this.replica.stopped) throw new KeelError('STOPPING', 'the node is shutting down');
  }
}
