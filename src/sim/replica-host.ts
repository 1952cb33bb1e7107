/**
 * One simulated machine running the production replica (replica/replica.ts) on
 * simulated ports: the Raft storage's real WAL on an in-memory file system that loses
 * what was not synced (storage/fault-file-system.ts), the real MVCC store on the
 * in-memory environment (kv/memory-env.ts), a clock that is the step counter, the
 * simulated network, and a task queue for deferral. Every fsync waits a random number
 * of steps (none while the node is paused), so a crash can land while a Ready is being
 * written; the simulation drains the promises that follow from each step before the
 * next (Simulation.settle).
 */
import { assert, type Prng } from '../lib/index.js';
import type { ConfigChange, Message, NodeId, RaftConfig } from '../raft/index.js';
import { Replica, type InspectedCore, nodeConfigDefaults, type NodeConfig, KeelError, type MembershipResult, silentLogger } from '../replica/index.js';
import { FaultFileSystem, type FileHandle, type FileSystem, type OpenMode, ForwardingFileSystem, forwardingHandle } from '../storage/index.js';
import { MemoryDisk, openMemoryEnv, MvccStore, type CommandBody, type CommandResult, type MemberList } from '../kv/index.js';
import { SyncedLog } from './synced-log.js';
import { corruptingStore, LyingSyncFileSystem, type Sabotage, tamperWithEntry } from './sabotage.js';
import type { SimNetwork } from './network.js';
import type { SafetyMonitor } from './safety.js';
import { watchEverything, type WatchMonitor } from './watch-monitor.js';
import type { LeaseNode } from './lease-clients.js';
import type { Trace } from './trace.js';
import type { ClientOperation } from './workload.js';
import type { Command } from './command.js';

export interface ReplicaHostOptions {
  readonly id: NodeId;
  /** The core's settings drawn for the run (electionTicks and heartbeatTicks go through the node config). */
  readonly raftConfig: RaftConfig;
  /** The initial voters; empty for the node that joins later. */
  readonly voters: readonly NodeId[];
  /** Every node of the run (the replica's member list names them all). */
  readonly allIds: readonly NodeId[];
  readonly random: Prng;
  readonly trace: Trace;
  readonly monitor: SafetyMonitor;
  /** Every incarnation watches every key from revision 1 and reports what it delivers here. */
  readonly watches: WatchMonitor;
  readonly network: SimNetwork;
  readonly fsyncDelayMaxSteps: number;
  readonly snapshotEveryEntries: number;
  readonly snapshotLogPercent: number;
  readonly inboxMessagesMax: number;
  /** Client requests time out after this many steps (one step is one millisecond of the replica's clock). */
  readonly requestTimeoutSteps: number;
  readonly sabotage: Sabotage;
  readonly complete: (operation: ClientOperation, type: 'ok' | 'fail' | 'info', value: unknown) => void;
  /** A write acknowledged here had applied by `index` (the liveness phase and the lost-write check use it). */
  readonly onApply: (id: string, index: number) => void;
}

const CRASH = 400;
const RESTART = 401;
const PERSIST = 402;
const APPLY = 403;
const raftDir = '/raft';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface WaitingSync {
  readonly dueStep: number;
  readonly release: () => void;
}

export class ReplicaHost {
  readonly id: NodeId;
  paused = false;
  tickPeriodSteps = 10;
  nextTickStep = 0;
  /** Starts of the replica; a task or promise of an older one is ignored. */
  incarnation = 0;
  readonly disk = new SyncedLog();
  private running = false;
  private replica: Replica | undefined;
  private store: MvccStore | undefined;
  private readonly fs = new FaultFileSystem();
  private readonly kvDisk = new MemoryDisk();
  private now = 0;
  private deferred: (() => void)[] = [];
  private syncs: WaitingSync[] = [];
  private readonly inbox: Message[] = [];
  /** Removed through the member API and stopped (as a removed etcd member exits): never restarted. */
  removedFromCluster = false;
  /** Client operations taken here and not answered yet. */
  private readonly waiting = new Set<ClientOperation>();

  constructor(private readonly options: ReplicaHostOptions) {
    this.id = options.id;
    this.start(0);
  }

  /** Not crashed (the replica may still be opening its storage). */
  get alive(): boolean {
    return this.running;
  }

  /** An fsync is waiting: a crash now loses or tears what it would have made durable. */
  get writing(): boolean {
    return this.syncs.length > 0;
  }

  /** The file system cannot tell log records from the hard state: any fsync in flight counts. */
  get writingEntries(): boolean {
    return this.writing;
  }

  /** The running replica's core, read-only; undefined while down or opening. */
  get core(): InspectedCore | undefined {
    return this.replica?.inspectCore();
  }

  appliedIndex(): number {
    return this.replica?.raftStatus().applied ?? 0;
  }

  tickIfDue(now: number): void {
    this.now = now;
    if (this.replica === undefined || this.paused || now < this.nextTickStep) return;
    this.nextTickStep = now + this.tickPeriodSteps;
    this.replica.tick();
    this.observe();
    this.options.monitor.ticked(this.id);
  }

  receive(message: Message, now: number): void {
    this.now = now;
    if (this.replica === undefined) {
      this.options.network.lostAtDestination(message, now, this.running ? 'destination starting' : 'destination down');
      return;
    }
    if (this.paused) {
      if (this.inbox.length >= this.options.inboxMessagesMax) this.options.network.lostAtDestination(message, now, 'inbox of paused node full');
      else this.inbox.push(message);
      return;
    }
    this.step(this.replica, message);
  }

  /**
   * Releases the fsyncs due by `now` and runs the deferred tasks (the Ready loop starts
   * in one); the caller then lets the promises they start settle. Returns whether
   * anything ran. A paused node does neither.
   */
  pump(now: number): boolean {
    this.now = now;
    if (!this.running || this.paused) return false;
    const due = this.syncs.filter((sync) => sync.dueStep <= now);
    if (due.length > 0) this.syncs = this.syncs.filter((sync) => sync.dueStep > now);
    const tasks = this.deferred;
    this.deferred = [];
    for (const sync of due) sync.release();
    for (const task of tasks) task();
    return due.length > 0 || tasks.length > 0;
  }

  /** After the promises of a step settled: the monitor checks the core. */
  observe(): void {
    const core = this.core;
    if (core !== undefined) this.options.monitor.observe(this.id, core);
  }

  submit(operation: ClientOperation): void {
    const replica = this.replica;
    assert(this.running && !this.paused, 'operations go to running nodes only');
    const { complete, sabotage } = this.options;
    if (replica === undefined) {
      complete(operation, 'fail', null); // still recovering its storage: it refuses clients
      return;
    }
    this.waiting.add(operation);
    const answer = (type: 'ok' | 'fail' | 'info', value: unknown): void => {
      if (!this.waiting.delete(operation)) return; // lost with a crash
      complete(operation, type, value);
    };
    const command = operation.command;
    if (command === undefined) {
      replica.read({ type: 'range', key: encoder.encode(operation.key) }, sabotage.staleReads ? 'serializable' : 'linearizable').then(
        (result) => {
          const kv = result.ok ? result.value.kvs[0] : undefined;
          answer(result.ok ? 'ok' : 'fail', kv === undefined ? null : Number(decoder.decode(kv.value)));
        },
        () => answer('fail', null),
      );
      return;
    }
    const body = commandBody(command);
    let written: Promise<CommandResult>;
    try {
      // A session per client process: a proposal the network duplicated applies once (§6.3).
      written = replica.write(body, { clientId: `p${command.process}`, seq: command.seq });
    } catch {
      answer('fail', null); // refused before it was proposed
      return;
    }
    if (sabotage.ackBeforeCommit) answer('ok', null);
    written.then(
      (result) => {
        if (result.ok) this.options.onApply(command.id, replica.raftStatus().applied);
        const succeeded = result.ok && !(result.response.type === 'txn' && !result.response.succeeded);
        answer(succeeded ? 'ok' : 'fail', null);
      },
      (error: unknown) => answer(error instanceof KeelError && error.outcome === 'not-applied' ? 'fail' : 'info', null),
    );
  }

  /** The running replica as a lease client calls it; undefined while down, opening or paused. */
  leaseNode(): LeaseNode | undefined {
    const replica = this.replica;
    if (replica === undefined || this.paused) return undefined;
    return { id: this.id, leads: replica.raftStatus().role === 'leader', leases: replica.leases, write: (body) => replica.write(body) };
  }

  /** Proposes a probe (the liveness phase's, the nemesis's churn): a write of its own key, through the log like any other. */
  proposeMark(id: string, process: number, seq: number): { ok: boolean; detail: string } {
    const replica = this.replica;
    if (replica === undefined || this.paused) return { ok: false, detail: 'down' };
    return this.attempt(() => {
      replica.write(commandBody({ op: 'mark', id, process, seq })).then(
        (result) => result.ok && this.options.onApply(id, replica.raftStatus().applied),
        () => undefined, // the liveness phase proposes another after a while
      );
      return 'proposed';
    });
  }

  /** A membership change proposed through this node's core (it must lead). */
  proposeMembershipChange(change: ConfigChange): { ok: boolean; detail: string } {
    return this.attempt(() => `proposed at ${(this.replica as Replica).proposeConfigChange(change)}`);
  }

  /** The member list as applied here (the member API's view). */
  memberList(): MemberList {
    return this.replica?.memberList() ?? { members: [], removed: [] };
  }

  /**
   * A membership change through etcd's member API on this node (replica/membership.ts),
   * as `keel member add|remove|promote` asks for it; `answered` gets the outcome and
   * the step it came at.
   */
  changeMembers(change: ConfigChange, answered: (detail: string, step: number) => void): void {
    const replica = this.replica;
    if (replica === undefined) return answered('down', this.now);
    const { nodeId } = change;
    let asked: Promise<MembershipResult>;
    switch (change.type) {
      case 'addVoter':
      case 'addLearner':
        asked = replica.addMember({ id: nodeId, peerUrls: [`http://127.0.0.1:${1000 + nodeId}`], isLearner: change.type === 'addLearner' });
        break;
      case 'removeNode':
        asked = replica.removeMember(nodeId);
        break;
      case 'promoteLearner':
        asked = replica.promoteMember(nodeId);
        break;
    }
    asked.then(
      (result) => answered(`done: members ${result.members.map((member) => `${member.id}${member.isLearner ? 'L' : ''}`).join(',')}`, this.now),
      (error: unknown) => answered(`refused: ${error instanceof KeelError ? `${error.code} ${error.message}` : String(error)}`, this.now),
    );
  }

  transferLeadership(to: NodeId): { ok: boolean; detail: string } {
    return this.attempt(() => {
      (this.replica as Replica).transferLeadership(to);
      return 'started';
    });
  }

  /** The machine stops: the disks keep what was synced (with `torn`, a random prefix of the rest). */
  crash(now: number, torn: boolean): ClientOperation[] {
    assert(this.running, 'crash of a node that is down');
    const writing = this.syncs.length;
    this.running = false;
    this.replica = undefined;
    this.store = undefined;
    this.paused = false;
    this.deferred = [];
    this.syncs = [];
    this.inbox.length = 0;
    this.fs.crash(torn ? { prng: this.options.random } : {});
    this.kvDisk.crash(torn ? 'torn' : 'power');
    this.options.trace.event(now, CRASH, [this.id], () => `crash   n${this.id}: ${writing} fsyncs in flight${torn ? ' (torn)' : ''}`);
    const lost = [...this.waiting];
    this.waiting.clear();
    return lost.filter((operation) => !operation.done);
  }

  restart(now: number): void {
    assert(!this.running, 'restart of a running node');
    this.start(now);
    this.options.trace.event(now, RESTART, [this.id, this.incarnation], () => `restart n${this.id} (incarnation ${this.incarnation})`);
  }

  pause(): void {
    this.paused = true;
  }

  resume(now: number): void {
    if (!this.paused) return;
    this.paused = false;
    this.nextTickStep = Math.max(this.nextTickStep, now);
    const replica = this.replica;
    if (replica === undefined) return;
    for (const message of this.inbox.splice(0)) this.step(replica, message);
  }

  forgetDone(): void {
    for (const operation of this.waiting) if (operation.done) this.waiting.delete(operation);
  }

  private step(replica: Replica, message: Message): void {
    this.options.monitor.stepping(this.id, message);
    const refusal = replica.receive(message);
    if (refusal !== undefined) this.options.monitor.report('ready-contract', `node ${this.id} refused a ${message.type} from node ${message.from}: ${refusal}`);
    this.observe();
  }

  private attempt(action: () => string): { ok: boolean; detail: string } {
    if (this.replica === undefined) return { ok: false, detail: 'down' };
    try {
      return { ok: true, detail: action() };
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Opens the replica on what the disks hold; it runs once its storage is recovered. */
  private start(now: number): void {
    this.running = true;
    this.incarnation += 1;
    this.nextTickStep = now + 1;
    const incarnation = this.incarnation;
    const live = (): boolean => this.running && this.incarnation === incarnation;
    const { options } = this;
    const { monitor, trace } = options;
    const config: NodeConfig = {
      ...nodeConfigDefaults,
      id: this.id,
      members: options.allIds
        .filter((id) => options.voters.length === 0 || options.voters.includes(id))
        .map((id) => ({ id, host: '127.0.0.1', peerPort: 1000 + id, clientPort: 2000 + id })),
      join: options.voters.length === 0,
      dataDir: `/n${this.id}`,
      tickMs: this.tickPeriodSteps,
      electionTicks: options.raftConfig.electionTicks,
      heartbeatTicks: options.raftConfig.heartbeatTicks,
      requestTimeoutMs: options.requestTimeoutSteps,
      snapshotEveryEntries: options.snapshotEveryEntries > 0 ? options.snapshotEveryEntries : Number.MAX_SAFE_INTEGER,
      snapshotLogPercent: options.snapshotLogPercent,
      walSegmentBytes: 64 * 1024,
      logLevel: 'silent',
    };
    const { id: _id, electionTicks: _e, heartbeatTicks: _h, ...raft } = options.raftConfig;
    const random = options.random.fork();
    const { sabotage } = options;
    const disk: FileSystem = sabotage.lyingSyncs ? new LyingSyncFileSystem(this.fs) : this.fs;
    this.tamperBeforeRestart()
      .then(() =>
        Replica.open({
          config,
          raftDir,
          raft,
          ports: {
            clock: { nowMs: () => this.now, monotonicMs: () => this.now },
            fs: new DelayedSyncFileSystem(disk, () => this.syncDelay(live)),
            network: {
              send: (message) => {
                if (!live()) return;
                monitor.sent(message, this.disk);
                options.network.send(message, this.now);
              },
              updatePeers: () => {},
              connectedPeers: () => new Set(options.allIds.filter((id) => id !== this.id)),
            },
            openStore: () => {
              const store = MvccStore.openOn(openMemoryEnv(this.kvDisk));
              this.store = sabotage.brokenStateMachine && this.id === 1 ? corruptingStore(store) : store;
              return this.store;
            },
            random: { int: (bound) => random.int(bound) },
            log: silentLogger,
            defer: (task) => {
              if (live()) this.deferred.push(task);
            },
            diskSpace: { freeBytes: 1 << 30, reserveBytes: 0, low: false, recovered: true },
            onFatal: (error) => {
              if (live())
                monitor.report(
                  'exception',
                  `node ${this.id}'s Ready loop failed: ${error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 6).join('\n') : String(error)}`,
                );
            },
            // The replica lingers a few ticks after its removal applies, then asks to stop.
            onRemoved: () => {
              if (live()) this.removedFromCluster = true;
            },
          },
          observer: {
            readRequested: (readId) => {
              if (live()) monitor.readInvoked(this.id, readId);
            },
            persisted: (ready) => {
              if (!live()) return;
              this.disk.persisted(ready);
              monitor.persisted(this.id, ready.entries, ready.snapshot, this.disk);
              if (ready.entries.length > 0 || ready.snapshot !== undefined) {
                trace.event(
                  this.now,
                  PERSIST,
                  [this.id, ready.entries.length, this.disk.lastIndex(), this.disk.hardState.term],
                  () =>
                    `persist n${this.id} ${ready.snapshot ? `snapshot ${ready.snapshot.meta.index} ` : ''}${ready.entries.length} entries to ${this.disk.lastIndex()} t${this.disk.hardState.term}`,
                );
              }
            },
            applied: (ready) => {
              if (!live()) return;
              for (const state of ready.readStates) monitor.readReleased(this.id, state.readId, state.index);
              if (ready.snapshot !== undefined) monitor.snapshotInstalled(this.id, ready.snapshot, this.digest());
              const entries = ready.committedEntries;
              entries.forEach((entry, i) => monitor.applied(this.id, entry, i === entries.length - 1 ? this.digest() : undefined));
              if (entries.length > 0)
                trace.event(
                  this.now,
                  APPLY,
                  [this.id, entries.at(-1)?.index ?? 0, 0],
                  () => `apply   n${this.id} ${entries[0]?.index}..${entries.at(-1)?.index}`,
                );
            },
            snapshotReceived: (meta, problem) => {
              if (!live()) return;
              if (problem !== undefined)
                monitor.report('ready-contract', `node ${this.id} could not install snapshot ${meta.index} from the leader: ${problem}`);
              monitor.snapshotReceived(this.id, meta);
            },
            snapshotSaved: (snapshot) => {
              if (!live()) return;
              this.disk.compacted(snapshot.meta);
              monitor.snapshotSaved(this.id, snapshot);
            },
          },
        }),
      )
      .then((replica) => {
        if (!live()) return;
        this.replica = replica;
        replica.start();
        replica.openWatchSession(options.watches.output(this.id, incarnation)).create(watchEverything);
        const core = replica.inspectCore();
        const { term, vote } = core.status();
        const synced = this.disk.hardState;
        if (term < synced.term || (term === synced.term && synced.vote !== 0 && vote !== synced.vote)) {
          monitor.report(
            'persistence',
            `node ${this.id} restarted with term ${term} vote ${vote}, but term ${synced.term} vote ${synced.vote} had been synced`,
          );
        }
        this.disk.recovered(core);
        // A torn crash may have kept writes no Ready reported synced: the monitor learns
        // the disk as the restarted core found it.
        monitor.persisted(this.id, core.entriesFrom(core.status().firstIndex), core.currentSnapshot(), this.disk);
        monitor.restarted(this.id, core, this.disk);
      })
      // Opening, or the checks of what it opened (which read the log back from disk):
      // a failure is this seed's violation, never an exception that ends the run.
      .catch((error: unknown) => {
        if (live()) monitor.report('exception', `node ${this.id} could not start: ${error instanceof Error ? error.message : String(error)}`);
      });
  }

  /** With the tamperLogOnRestart sabotage, a restart first replaces the last committed entry on disk (one past a snapshot only). */
  private async tamperBeforeRestart(): Promise<void> {
    const { commit } = this.disk.hardState;
    const term = this.disk.term(commit);
    if (!this.options.sabotage.tamperLogOnRestart || this.incarnation === 1 || commit <= this.disk.snapshotIndex() || term === undefined) return;
    await tamperWithEntry(this.fs, `${raftDir}/wal`, commit, term);
  }

  /** The store's state after an apply: equal on every node that applied the same entries (state machine safety). */
  private digest(): number {
    const store = this.store as MvccStore;
    const hash = store.hashKv(store.currentRevision());
    return hash.ok ? hash.value.hash : -1;
  }

  /** An fsync of this incarnation: waits a random number of steps, none while paused; forever once the node crashed. */
  private syncDelay(live: () => boolean): Promise<void> | undefined {
    const delay = this.options.random.int(this.options.fsyncDelayMaxSteps + 1);
    if (delay === 0 && !this.paused) return undefined;
    return new Promise((release) => {
      if (live()) this.syncs.push({ dueStep: this.now + delay, release });
    });
  }
}

/** The store command that carries out a simulator command (values are decimal text). */
function commandBody(command: Command): CommandBody {
  const key = encoder.encode(command.op === 'mark' ? 'mark' : command.key);
  switch (command.op) {
    case 'put':
      return { type: 'put', key, value: encoder.encode(String(command.value)) };
    case 'delete':
      return { type: 'deleteRange', key };
    case 'cas':
      return {
        type: 'txn',
        compare: [{ key, target: 'value', result: 'equal', operand: encoder.encode(String(command.expected)) }],
        success: [{ type: 'put', key, value: encoder.encode(String(command.value)) }],
        failure: [],
      };
    case 'mark':
      return { type: 'put', key, value: encoder.encode(command.id) };
  }
}

/** A file system whose syncs first wait for the host's say (the fsync's latency). */
class DelayedSyncFileSystem extends ForwardingFileSystem {
  constructor(
    inner: FileSystem,
    private readonly delay: () => Promise<void> | undefined,
  ) {
    super(inner);
  }

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    const wait = async (): Promise<void> => this.delay();
    return {
      ...forwardingHandle(handle),
      writeDurably: async (data, position) => {
        await wait();
        await handle.writeDurably(data, position);
      },
      datasync: async () => {
        await wait();
        await handle.datasync();
      },
      sync: async () => {
        await wait();
        await handle.sync();
      },
    };
  }

  override async syncDir(dir: string): Promise<void> {
    await this.delay();
    await this.inner.syncDir(dir);
  }
}
