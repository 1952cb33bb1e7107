import { assert } from '../lib/assert.js';
import type { Prng } from '../lib/prng.js';
import { RaftNode } from '../raft/node.js';
import type { ClusterConfig, ConfigChange, Entry, LogIndex, Message, NodeId, Outcome, RaftConfig, Ready } from '../raft/types.js';
import { encodeCommand } from './command.js';
import { describeEntries, describeHardState, describeSnapshot } from './describe.js';
import { SimDisk } from './disk.js';
import { type ApplyResult, KvMachine } from './kv-machine.js';
import type { SimNetwork } from './network.js';
import type { SafetyMonitor } from './safety.js';
import type { Trace } from './trace.js';
import type { ClientOperation } from './workload.js';

/** Deliberate bugs in the runtime, to show that the checks catch them (tests only). */
export interface Sabotage {
  /** Node 1's state machine stores value + 1 for every put. */
  readonly brokenStateMachine?: boolean;
  /** Nodes never write their hard state to disk (votes are forgotten by a crash). */
  readonly skipHardStateWrites?: boolean;
  /** Reads are answered from the local state machine at once, without ReadIndex. */
  readonly staleReads?: boolean;
  /** Writes are acknowledged as soon as the core accepts the proposal. */
  readonly ackBeforeCommit?: boolean;
  /** A restarting node finds its last committed entry on disk replaced by another. */
  readonly tamperLogOnRestart?: boolean;
}

export interface HostOptions {
  readonly id: NodeId;
  readonly raftConfig: RaftConfig;
  /** The initial members; a node that joins later passes no voters. */
  readonly bootstrap: ClusterConfig;
  /** The host's own stream: fsync delays, torn writes, and the core's randomness. */
  readonly random: Prng;
  readonly trace: Trace;
  readonly monitor: SafetyMonitor;
  readonly network: SimNetwork;
  /** Steps an fsync takes: a Ready's effects happen that many steps after it is taken. */
  readonly fsyncDelayMaxSteps: number;
  /** Take a state machine snapshot and compact every this many applied entries (0: never). */
  readonly snapshotEveryEntries: number;
  /** Messages a paused node buffers before it drops new ones. */
  readonly inboxMessagesMax: number;
  readonly sabotage: Sabotage;
  /** Completes a client operation (the workload records it). */
  readonly complete: (operation: ClientOperation, type: 'ok' | 'fail', value: unknown) => void;
  /** A command was applied on this node (the liveness phase watches its probes). */
  readonly onApply: (node: NodeId, index: LogIndex, result: ApplyResult) => void;
}

interface PendingWrite {
  readonly ready: Ready;
  readonly completeAtStep: number;
}

const CRASH = 400;
const RESTART = 401;
const PERSIST = 402;
const APPLY = 403;

/**
 * One simulated server: a RaftNode core driven by a runtime that follows the Ready
 * contract (types.ts), a simulated disk, and the key-value state machine. Its clock
 * ticks every `tickPeriodSteps` steps (nodes differ: tick skew). An fsync takes a few
 * steps; a crash in that window loses the Ready (or, with torn writes, keeps a prefix
 * of its log records), and the core and state machine are rebuilt from the disk.
 */
export class SimHost {
  readonly id: NodeId;
  readonly disk = new SimDisk();
  core: RaftNode | undefined;
  machine: KvMachine;
  paused = false;
  tickPeriodSteps = 10;
  nextTickStep = 0;
  incarnation = 0;
  private pendingWrite: PendingWrite | undefined;
  private readonly inbox: Message[] = [];
  /** Writes waiting for their command to be applied here, by request id. */
  private readonly writes = new Map<string, ClientOperation>();
  /** Reads waiting for a ReadState, by read id. */
  private readonly readsAwaitingIndex = new Map<string, ClientOperation>();
  /** Reads that have their ReadState and wait for the state machine to apply its index. */
  private readsAwaitingApply: { operation: ClientOperation; index: LogIndex }[] = [];

  constructor(private readonly options: HostOptions) {
    this.id = options.id;
    this.machine = this.emptyMachine();
    this.core = this.startCore();
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  /** A Ready is being written (its fsync has not completed): a crash now loses it. */
  get writing(): boolean {
    return this.pendingWrite !== undefined;
  }

  /** Log entries are being written: a crash now loses or tears them. */
  get writingEntries(): boolean {
    return (this.pendingWrite?.ready.entries.length ?? 0) > 0;
  }

  /** Ticks the core when its clock says so. */
  tickIfDue(now: number): void {
    if (this.core === undefined || this.paused || now < this.nextTickStep) return;
    this.nextTickStep = now + this.tickPeriodSteps;
    this.core.tick();
    this.options.monitor.observe(this.id, this.core);
    this.options.monitor.ticked(this.id);
  }

  /** A message arrives from the network. */
  receive(message: Message, now: number): void {
    if (this.core === undefined) {
      this.options.network.lostAtDestination(message, now, 'destination down');
      return;
    }
    if (this.paused) {
      if (this.inbox.length >= this.options.inboxMessagesMax) this.options.network.lostAtDestination(message, now, 'inbox of paused node full');
      else this.inbox.push(message);
      return;
    }
    this.stepCore(this.core, message);
    this.options.monitor.observe(this.id, this.core);
  }

  /**
   * Drives the Ready loop: completes a write whose fsync is done (send, apply,
   * advance), then takes the next Ready. With a zero delay several rounds can happen
   * in one step; the bound keeps a step finite.
   */
  processReady(now: number): void {
    const roundsMax = 4;
    for (let round = 0; round < roundsMax; round++) {
      if (this.core === undefined || this.paused) return;
      if (this.pendingWrite !== undefined) {
        if (this.pendingWrite.completeAtStep > now) return;
        this.completeWrite(this.pendingWrite.ready, now);
        this.pendingWrite = undefined;
      }
      if (this.core === undefined || !this.core.hasReady()) return;
      const ready = this.core.ready();
      const delay = this.options.random.int(this.options.fsyncDelayMaxSteps + 1);
      this.pendingWrite = { ready, completeAtStep: now + delay };
    }
  }

  /** A client operation arrives at this node. */
  submit(operation: ClientOperation): void {
    const core = this.core;
    assert(core !== undefined && !this.paused, 'operations go to running nodes only');
    if (operation.command === undefined) {
      if (this.options.sabotage.staleReads) {
        this.options.complete(operation, 'ok', this.machine.get(operation.key) ?? null);
        return;
      }
      const outcome = core.readIndex(operation.requestId);
      this.options.monitor.observe(this.id, core);
      if (!outcome.ok) {
        this.options.trace.note(this.options.monitor.now, () => `refused n${this.id} read ${operation.requestId}: ${outcome.reason}`);
        this.options.complete(operation, 'fail', null);
        return;
      }
      this.options.monitor.readInvoked(this.id, operation.requestId);
      this.readsAwaitingIndex.set(operation.requestId, operation);
      return;
    }
    const outcome = core.propose(encodeOperation(operation));
    this.options.monitor.observe(this.id, core);
    if (!outcome.ok) {
      // Nothing was proposed: the operation definitely did not happen.
      this.options.trace.note(this.options.monitor.now, () => `refused n${this.id} write ${operation.requestId}: ${outcome.reason}`);
      this.options.complete(operation, 'fail', null);
      return;
    }
    if (this.options.sabotage.ackBeforeCommit) {
      this.options.complete(operation, 'ok', null);
      return;
    }
    this.writes.set(operation.requestId, operation);
  }

  /** Crashes the node: the core and state machine are gone, the disk keeps what was
   * fsynced (plus, with `torn`, a prefix of the write in progress). Returns the client
   * operations that were waiting here (their outcome is now unknown). */
  crash(now: number, torn: boolean): ClientOperation[] {
    const pending = this.pendingWrite;
    let lost = 'nothing in flight';
    if (pending !== undefined) {
      const { ready } = pending;
      if (torn && (ready.entries.length > 0 || ready.snapshot !== undefined)) {
        const withSnapshot = this.options.random.chance(0.5);
        const entriesCount = this.options.random.int(ready.entries.length + 1);
        const problems = this.disk.writePrefix(ready, { withSnapshot, entriesCount });
        for (const problem of problems) this.options.monitor.report('ready-contract', `node ${this.id}: ${problem}`);
        this.options.monitor.persisted(this.id, ready.entries.slice(0, withSnapshot || ready.snapshot === undefined ? entriesCount : 0), withSnapshot ? ready.snapshot : undefined, this.disk);
        lost = `torn write kept ${ready.snapshot !== undefined ? (withSnapshot ? 'the snapshot and ' : 'no snapshot, ') : ''}${entriesCount} of ${describeEntries(ready.entries)}, lost the rest`;
      } else {
        lost = `lost unsynced ${describeEntries(ready.entries)}${ready.hardState ? ` hs${describeHardState(ready.hardState)}` : ''}${ready.snapshot ? ' and a snapshot' : ''}`;
      }
    }
    this.options.trace.event(now, CRASH, [this.id], () => `crash   n${this.id}: ${lost}; disk ${this.describeDisk()}`);
    this.core = undefined;
    this.pendingWrite = undefined;
    this.paused = false;
    this.inbox.length = 0;
    this.machine = this.emptyMachine();
    const waiting = [...this.writes.values(), ...this.readsAwaitingIndex.values(), ...this.readsAwaitingApply.map((r) => r.operation)];
    this.writes.clear();
    this.readsAwaitingIndex.clear();
    this.readsAwaitingApply = [];
    return waiting.filter((operation) => !operation.done);
  }

  /** Starts the node again from its disk. */
  restart(now: number): void {
    assert(this.core === undefined, 'restart of a running node');
    if (this.options.sabotage.tamperLogOnRestart) {
      const index = this.disk.hardState.commit;
      if (index > this.disk.snapshotIndex()) {
        this.disk.tamperEntry(index, encodeCommand({ op: 'put', id: 'tampered', process: 1_000_000, seq: 1, key: 'k0', value: -1 }));
      }
    }
    this.machine = this.emptyMachine();
    this.core = this.startCore();
    this.nextTickStep = now + 1;
    this.options.trace.event(now, RESTART, [this.id, this.incarnation], () => `restart n${this.id} (incarnation ${this.incarnation}) from disk ${this.describeDisk()}`);
    this.options.monitor.restarted(this.id, this.core, this.disk);
  }

  pause(): void {
    this.paused = true;
  }

  /** Resumes a paused node: it processes what arrived meanwhile, in order. */
  resume(now: number): void {
    if (!this.paused) return;
    this.paused = false;
    this.nextTickStep = Math.max(this.nextTickStep, now);
    const core = this.core;
    if (core === undefined) return;
    for (const message of this.inbox.splice(0)) {
      this.stepCore(core, message);
      this.options.monitor.observe(this.id, core);
    }
  }

  /** Steps a message; the simulated nodes are all correct, so none may find another's message impossible. */
  private stepCore(core: RaftNode, message: Message): void {
    this.options.monitor.stepping(this.id, message);
    const refusal = core.step(message);
    assert(refusal === undefined, () => `node ${this.id} refused a ${message.type} from node ${message.from}: ${refusal?.reason}`);
  }

  /** A membership change proposed through this node's core (it must lead). */
  proposeMembershipChange(change: ConfigChange): { ok: boolean; detail: string } {
    return this.onCore((core) => core.proposeMembershipChange(change), (outcome) => `proposed at ${outcome.index}`);
  }

  transferLeadership(to: NodeId): { ok: boolean; detail: string } {
    return this.onCore((core) => core.transferLeadership(to), () => 'started');
  }

  /** Proposes a probe, a command with no effect on the data (the liveness phase's, the nemesis's churn). */
  proposeMark(id: string, process: number, seq: number): { ok: boolean; detail: string } {
    return this.onCore((core) => core.propose(encodeCommand({ op: 'mark', id, process, seq })), (outcome) => `at ${outcome.index ?? '?'}`);
  }

  appliedIndex(): LogIndex {
    return this.alive ? this.machine.applied : 0;
  }

  private onCore<T extends object>(action: (core: RaftNode) => Outcome<T>, describe: (outcome: T) => string): { ok: boolean; detail: string } {
    const core = this.core;
    if (core === undefined) return { ok: false, detail: 'down' };
    const outcome = action(core);
    this.options.monitor.observe(this.id, core);
    return outcome.ok ? { ok: true, detail: describe(outcome) } : { ok: false, detail: `refused ${outcome.reason}` };
  }

  /** Client operations here that have not completed (for the end of a run). */
  waitingOperationsCount(): number {
    return this.writes.size + this.readsAwaitingIndex.size + this.readsAwaitingApply.length;
  }

  /** Forgets operations the workload already completed (timed out). */
  forgetDone(): void {
    for (const [id, operation] of this.writes) if (operation.done) this.writes.delete(id);
    for (const [id, operation] of this.readsAwaitingIndex) if (operation.done) this.readsAwaitingIndex.delete(id);
    this.readsAwaitingApply = this.readsAwaitingApply.filter((r) => !r.operation.done);
  }

  describeDisk(): string {
    const { disk } = this;
    const snapshot = disk.snapshot ? `${describeSnapshot(disk.snapshot)} ` : '';
    return `${snapshot}log ${disk.firstIndex()}..${disk.lastIndex()} hs${describeHardState(disk.hardState)}`;
  }

  private startCore(): RaftNode {
    this.incarnation += 1;
    const persisted = this.disk.load();
    const snapshot = persisted.snapshot;
    if (snapshot !== undefined) this.machine = KvMachine.decode(snapshot.data, snapshot.meta.index, this.isBroken());
    const core = new RaftNode({
      config: this.options.raftConfig,
      persisted,
      bootstrap: this.options.bootstrap,
      random: this.options.random.fork(),
      applied: this.machine.applied,
    });
    return core;
  }

  /** Step 1-4 of the Ready contract, once the write is durable. */
  private completeWrite(ready: Ready, now: number): void {
    const core = this.core as RaftNode;
    const { monitor, trace } = this.options;
    // 1. Persist.
    const hardState = this.options.sabotage.skipHardStateWrites ? undefined : ready.hardState;
    if (ready.snapshot !== undefined || ready.entries.length > 0 || hardState !== undefined) {
      const problems = this.disk.write({ snapshot: ready.snapshot, entries: ready.entries, hardState });
      for (const problem of problems) monitor.report('ready-contract', `node ${this.id}: ${problem}`);
      monitor.persisted(this.id, ready.entries, ready.snapshot, this.disk);
      trace.event(now, PERSIST, [this.id, ready.entries.length, this.disk.lastIndex(), this.disk.hardState.term], () =>
        `persist n${this.id} ${ready.snapshot ? `${describeSnapshot(ready.snapshot)} ` : ''}${ready.entries.length > 0 ? `${describeEntries(ready.entries)} ` : ''}${hardState ? `hs${describeHardState(hardState)}` : ''}`,
      );
    }
    // 2. Send, now that what the messages promise is durable.
    for (const message of ready.messages) {
      if (message.from !== this.id) monitor.report('ready-contract', `node ${this.id} hands out a message from ${message.from}`);
      monitor.sent(message, this.disk);
      this.options.network.send(message, now);
    }
    // 3. Install the snapshot, apply committed entries, serve reads.
    if (ready.snapshot !== undefined) {
      const { meta, data } = ready.snapshot;
      this.machine = KvMachine.decode(data, meta.index, this.isBroken());
      monitor.snapshotInstalled(this.id, ready.snapshot, this.machine.digest());
      trace.event(now, APPLY, [this.id, meta.index, 1], () => `install n${this.id} ${describeSnapshot(ready.snapshot as NonNullable<Ready['snapshot']>)} -> ${this.machine.describe()}`);
    }
    this.applyEntries(ready.committedEntries, now);
    for (const readState of ready.readStates) {
      monitor.readReleased(this.id, readState.readId, readState.index);
      const operation = this.readsAwaitingIndex.get(readState.readId);
      if (operation === undefined) continue; // a read of an earlier incarnation, or timed out
      this.readsAwaitingIndex.delete(readState.readId);
      this.readsAwaitingApply.push({ operation, index: readState.index });
    }
    this.serveReads();
    // 4. Advance.
    core.advance(ready);
    monitor.observe(this.id, core);
    this.maybeCompact(now);
  }

  private applyEntries(entries: readonly Entry[], now: number): void {
    if (entries.length === 0) return;
    const { monitor, trace } = this.options;
    const first = entries[0] as Entry;
    if (first.index !== this.machine.applied + 1) {
      monitor.report('ready-contract', `node ${this.id} is handed committed entries from ${first.index}, but its state machine applied up to ${this.machine.applied}`);
      return;
    }
    if ((entries[entries.length - 1] as Entry).index > this.disk.hardState.commit && !this.options.sabotage.skipHardStateWrites) {
      monitor.report('ready-contract', `node ${this.id} is handed ${describeEntries(entries)} to apply beyond the persisted commit index ${this.disk.hardState.commit}`);
    }
    for (const entry of entries) {
      const result = this.machine.apply(entry);
      monitor.applied(this.id, entry, this.machine.digest());
      if (result === undefined) continue;
      this.options.onApply(this.id, entry.index, result);
      const operation = this.writes.get(result.command.id);
      if (operation === undefined) continue;
      if (result.duplicate && operation.f === 'cas') continue; // its first outcome was not seen here
      this.writes.delete(result.command.id);
      if (!operation.done) this.options.complete(operation, result.ok ? 'ok' : 'fail', null);
    }
    trace.event(now, APPLY, [this.id, this.machine.applied, 0], () => `apply   n${this.id} ${describeEntries(entries)} -> ${this.machine.describe()}`);
  }

  private serveReads(): void {
    if (this.readsAwaitingApply.length === 0) return;
    const waiting: { operation: ClientOperation; index: LogIndex }[] = [];
    for (const read of this.readsAwaitingApply) {
      if (read.operation.done) continue;
      if (read.index > this.machine.applied) waiting.push(read);
      else this.options.complete(read.operation, 'ok', this.machine.get(read.operation.key) ?? null);
    }
    this.readsAwaitingApply = waiting;
  }

  private maybeCompact(now: number): void {
    const every = this.options.snapshotEveryEntries;
    const core = this.core;
    if (every <= 0 || core === undefined) return;
    const applied = this.machine.applied;
    if (applied - this.disk.snapshotIndex() < every) return;
    core.compact({ index: applied, data: this.machine.encode() });
    this.options.monitor.observe(this.id, core);
    const snapshot = core.currentSnapshot();
    // A newer snapshot from the leader, received while this Ready was being written,
    // comes with the next Ready; the core rightly ignored this older one.
    if (snapshot !== undefined && snapshot.meta.index > applied) return;
    if (snapshot === undefined || snapshot.meta.index !== applied) {
      this.options.monitor.report('ready-contract', `node ${this.id} compacted to ${applied} but the core holds snapshot ${snapshot?.meta.index ?? 'none'}`);
      return;
    }
    for (const problem of this.disk.saveSnapshot(snapshot)) this.options.monitor.report('ready-contract', `node ${this.id}: ${problem}`);
    this.options.monitor.snapshotSaved(this.id, snapshot);
    this.options.trace.note(now, () => `compact n${this.id} to ${describeSnapshot(snapshot)}`);
  }

  private isBroken(): boolean {
    return this.options.sabotage.brokenStateMachine === true && this.id === 1;
  }

  private emptyMachine(): KvMachine {
    return new KvMachine(this.isBroken());
  }
}

function encodeOperation(operation: ClientOperation): Uint8Array {
  assert(operation.command !== undefined, 'only writes carry a command');
  return encodeCommand(operation.command);
}
