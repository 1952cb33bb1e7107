/**
 * The Raft consensus core: a deterministic state machine with no I/O (after
 * etcd-io/raft). The runtime feeds it ticks, messages and requests, and drains what
 * it must do through ready()/advance(); see the contract on `Ready` in types.ts.
 *
 * Section numbers cite the Raft paper (Ongaro & Ousterhout, 2014; "§5.3") and
 * Ongaro's PhD thesis (2014; "thesis §6.4").
 */
import type {
  ClusterConfig,
  ConfigChange,
  Entry,
  EntryKind,
  HardState,
  ImpossibleMessage,
  LogIndex,
  Message,
  NodeId,
  Outcome,
  PersistedState,
  RaftConfig,
  RandomSource,
  ReadState,
  Ready,
  RefusalReason,
  Role,
  Snapshot,
  ReceivedSnapshot,
  ReceivedSnapshotChunk,
  SnapshotData,
  SnapshotMeta,
  SoftState,
  LogReader,
  Term,
  AppendRequest,
  AppendResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  SnapshotRequest,
  SnapshotResponse,
  VoteRequest,
} from './types.js';
import { NO_NODE } from './types.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import type { ProgressState } from './progress.js';
import { ReadIndexQueue } from './read-index.js';
import {
  ConfigHistory,
  applyConfigChange,
  configEntryProblem,
  decodeConfigEntry,
  encodeConfigChange,
  isMember,
  isVoter,
  members,
  quorumMatchIndex,
  quorumSize,
  tallyVotes,
} from './config.js';
import { assert, unreachable } from '../lib/index.js';

export interface RaftNodeOptions {
  readonly config: RaftConfig;
  /** What the node's disk holds; all empty for a brand-new node. */
  readonly persisted: PersistedState;
  /** The members of a brand-new cluster, used when the disk holds no snapshot. A
   * node that will join an existing cluster passes no voters and waits to be added. */
  readonly bootstrap: ClusterConfig;
  readonly random: RandomSource;
  /** The state machine's applied index at start; defaults to the snapshot's index. */
  readonly applied?: LogIndex;
  /**
   * What the state machine finds wrong with the first bytes of a snapshot (its first
   * chunk: a header that is not its own, or taken at another index), or undefined. A
   * snapshot no correct leader sends is then refused at its first chunk, before this
   * node takes the sender's term; the whole is checked once received (snapshotReceived).
   */
  readonly snapshotStartProblem?: (meta: SnapshotMeta, firstBytes: Uint8Array) => string | undefined;
  /**
   * A snapshot this node was receiving when it stopped, and how many of its bytes the
   * runtime still holds: a chunk at that offset goes on with the transfer (the receiver
   * names the offset it wants, as after a broken connection), so a restart does not
   * send a large snapshot again from byte 0. Ignored if the node holds what it covers.
   */
  readonly snapshotReceiving?: { readonly meta: SnapshotMeta; readonly size: number };
  /**
   * The runtime persists and applies in a pipeline (see Ready in types.ts): it may apply
   * one Ready's entries before an earlier Ready's write is durable, so committed entries
   * are handed out only once durable here. Without it (a runtime that writes each Ready
   * before applying it), a Ready may hand out committed entries its own write carries.
   */
  readonly pipelined?: boolean;
  /** Reads back entries released from memory (RaftConfig.logMemoryBytesMax); without it none are. */
  readonly logReader?: LogReader;
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly persisted: LogIndex;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  readonly config: ClusterConfig;
  readonly transferee: NodeId;
  readonly uncommittedBytes: number;
  /** Replication progress of each peer; empty unless leader. */
  readonly peers: readonly PeerStatus[];
}

type Distributive<T> = T extends unknown ? Omit<T, 'from' | 'term'> & { term?: Term } : never;
/** A message before the sender fills in `from` and (by default) its own term. */
type Outgoing = Distributive<Message>;

/** A snapshot being received: the runtime stores its chunks; the core keeps where it is. */
interface IncomingSnapshot {
  readonly meta: SnapshotMeta;
  /** The leader sending it, to answer once the runtime has checked it (none yet for a
   * transfer resumed after a restart). */
  from: NodeId;
  size: number;
  /** Its last chunk is in: the runtime stores and checks it (snapshotReceived). */
  complete: boolean;
}

const emptyData = new Uint8Array(0);

export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly random: RandomSource;
  private readonly snapshotStartProblem: (meta: SnapshotMeta, firstBytes: Uint8Array) => string | undefined;
  private readonly pipelined: boolean;

  // Persistent state (Figure 2).
  private term: Term;
  private vote: NodeId;
  private readonly log: RaftLog;

  // Volatile state.
  private role: Role = 'follower';
  private leader: NodeId = NO_NODE;
  private readonly configs: ConfigHistory;
  /** The newest snapshot this node holds, taken locally or installed from a leader. */
  private snapshot: Snapshot | undefined;
  /** A snapshot received from the leader that the runtime must still persist and install. */
  private snapshotToInstall: Snapshot | undefined;
  /** That snapshot once handed out in a Ready, until the runtime reports it installed. */
  private snapshotInstalling: Snapshot | undefined;
  private incomingSnapshot: IncomingSnapshot | undefined;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private readonly votes = new Map<NodeId, boolean>();

  // Leader state.
  private readonly progress = new Map<NodeId, Progress>();
  private transferee: NodeId = NO_NODE;
  /** Leader ticks since the transfer to `transferee` started. */
  private transferElapsed = 0;
  private uncommittedBytes = 0;
  private heartbeatSeq = 0;
  /** As follower: the newest heartbeat round of this term's leader answered (heartbeatsAgain). */
  private heartbeatSeqAnswered = 0;
  private readonly reads = new ReadIndexQueue();
  /** Reads that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  private readsBeforeCommit: { readId: string; from: NodeId }[] = [];

  // Output waiting for ready().
  private messages: Message[] = [];
  /** Entries were appended as leader since the last ready(): it sends them (sendDueAppends). */
  private appendsDue = false;
  private snapshotChunks: ReceivedSnapshotChunk[] = [];
  private readStates: ReadState[] = [];
  private lastHardState: HardState;
  private lastSoftState: SoftState;

  // What checkInvariants() compares against.
  private checkedTerm: Term;
  private checkedVote: NodeId;

  constructor(options: RaftNodeOptions) {
    const { config, persisted } = options;
    assert(config.id > 0 && Number.isInteger(config.id), `node id must be a positive integer, got ${config.id}`);
    assert(config.heartbeatTicks >= 1 && config.electionTicks > config.heartbeatTicks, 'electionTicks must exceed heartbeatTicks >= 1');
    this.id = config.id;
    this.cfg = config;
    this.random = options.random;
    this.snapshotStartProblem = options.snapshotStartProblem ?? (() => undefined);
    this.pipelined = options.pipelined ?? false;
    const snapshotMeta = persisted.snapshot?.meta;
    this.snapshot = persisted.snapshot;
    this.term = persisted.hardState.term;
    this.vote = persisted.hardState.vote;
    this.log = new RaftLog({
      snapshotIndex: snapshotMeta?.index ?? 0,
      snapshotTerm: snapshotMeta?.term ?? 0,
      ...(persisted.onDisk ? { onDisk: persisted.onDisk.terms } : {}),
      entries: persisted.entries,
      committed: persisted.hardState.commit,
      applied: options.applied ?? 0,
      ...(options.logReader ? { reader: options.logReader } : {}),
    });
    this.configs = new ConfigHistory(snapshotMeta ? { index: snapshotMeta.index, config: snapshotMeta.config } : { index: 0, config: options.bootstrap });
    this.configs.appended(persisted.onDisk?.configEntries ?? []);
    this.configs.appended(persisted.entries);
    if (this.log.lastTerm() > this.term) {
      // A crash in the middle of a write can leave a Ready's entries on disk without
      // the hard state written after them (storage keeps the whole records before a
      // torn tail). This node never voted in a term it did not persist, and sent
      // nothing from that Ready, so it takes the newest term it has seen (Figure 2,
      // currentTerm), with no vote; the next Ready persists it.
      this.term = this.log.lastTerm();
      this.vote = NO_NODE;
    }
    const receiving = options.snapshotReceiving;
    if (receiving && receiving.meta.index > this.log.committed)
      this.incomingSnapshot = { meta: receiving.meta, from: NO_NODE, size: receiving.size, complete: false };
    this.lastHardState = persisted.hardState;
    this.checkedTerm = this.term;
    this.checkedVote = this.vote;
    this.becomeFollower(this.term, NO_NODE);
    this.lastSoftState = this.softState();
  }

  // ---------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------

  /** One tick of the logical clock. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /**
   * A client command. Appends `data` to the log as leader (`index` is where), or forwards it to the
   * leader (`index` undefined, `forwardedTo` the leader it went to: a forward may be
   * lost without a word, with that leader).
   */
  propose(data: Uint8Array): Outcome<{ index: LogIndex | undefined; forwardedTo: NodeId }> {
    if (data.length > this.cfg.entryBytesMax) {
      return this.refuse('ENTRY_TOO_LARGE', `proposal of ${data.length} bytes exceeds entryBytesMax ${this.cfg.entryBytesMax}`);
    }
    if (this.role !== 'leader') {
      if (this.leader === NO_NODE) return this.refuse('NO_LEADER', 'no leader is known; retry later');
      this.send({ type: 'propose', to: this.leader, data });
      return { ok: true, index: undefined, forwardedTo: this.leader };
    }
    const refusal = this.checkProposal(data);
    if (refusal) return refusal;
    return { ok: true, index: this.appendAsLeader('normal', data), forwardedTo: NO_NODE };
  }

  /**
   * The latest heartbeats again, for the runtime to send at once from inside one long
   * piece of work that holds its event loop (an apply deleting a hundred thousand
   * keys), during which it neither ticks nor reads a message. A leader's latest round
   * again: without it, followers that hear nothing for an election timeout elect
   * another leader though this one is alive and busy. A follower's latest answer
   * again: without it, a leader whose followers are all held so (applying the same
   * entry) sees no majority for an election timeout and steps down (check-quorum).
   * etcd's raft loop beats beside its apply loop; this lets a runtime on one thread
   * beat from inside its work. It changes nothing here. An answer repeated, or an
   * answer to a round repeated, counts as one to that round, which it is: sent after
   * the round began, in this term, so every read waiting on the round (thesis §6.4)
   * had its index taken before.
   */
  heartbeatsAgain(): Message[] {
    if (this.role === 'follower') {
      if (this.leader === NO_NODE || this.heartbeatSeqAnswered === 0) return [];
      return [{ type: 'heartbeatResponse', from: this.id, to: this.leader, term: this.term, seq: this.heartbeatSeqAnswered, lastIndex: this.log.lastIndex() }];
    }
    if (this.role !== 'leader') return [];
    const messages: Message[] = [];
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      messages.push({ ...this.heartbeatTo(id, pr), from: this.id, term: this.term });
    }
    return messages;
  }

  /** A linearizable read (thesis §6.4): a ReadState for `readId` comes out of a later Ready. */
  readIndex(readId: string): Outcome<object> {
    if (this.role === 'leader') return this.leaderReadIndex(readId, this.id);
    if (this.leader === NO_NODE) return this.refuse('NO_LEADER', 'no leader is known; retry later');
    this.send({ type: 'readIndex', to: this.leader, readId });
    return { ok: true };
  }

  /**
   * The newest heartbeat round a majority of voters has answered in this leadership,
   * and the commit index, once an entry of this term has committed (thesis §6.4 step
   * 1); undefined unless leader. A runtime that dates the rounds it sends learns from it
   * when this node last knew it led: no other leader can have been elected before that
   * round was sent (a voter that answered it had not voted in a later term yet), which
   * is what a leader lease (thesis §6.4.1) rests on.
   */
  leadershipConfirmed(): { readonly round: number; readonly commit: LogIndex } | undefined {
    if (this.role !== 'leader' || !this.committedInCurrentTerm()) return undefined;
    return { round: this.confirmedHeartbeatSeq(), commit: this.log.committed };
  }

  /** Leadership transfer (thesis §3.10): bring `to` up to date, then tell it to campaign. */
  transferLeadership(to: NodeId): Outcome<object> {
    if (this.role !== 'leader') return this.refuse('NOT_LEADER', 'only the leader can transfer leadership');
    if (to === this.id) return { ok: true };
    if (!isVoter(this.configs.current(), to)) return this.refuse('NOT_A_VOTER', `node ${to} is not a voter`);
    if (this.transferee === to) return { ok: true };
    this.transferee = to;
    // The transfer must finish within an election timeout, or it is abandoned. It has
    // a timer of its own: restarting the check-quorum one here would let a leader cut
    // off from the majority lead on for as long as transfers keep being asked of it.
    this.transferElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to });
    else this.sendAppend(to);
    return { ok: true };
  }

  /** Adds or removes one server (thesis §4.1; see config.ts for why single-server). */
  proposeMembershipChange(change: ConfigChange): Outcome<{ index: LogIndex }> {
    if (this.role !== 'leader') return this.refuse('NOT_LEADER', 'only the leader can change membership');
    if (this.transferee !== NO_NODE) return this.refuse('TRANSFERRING', 'a leadership transfer is in progress');
    if (!this.committedInCurrentTerm()) {
      return this.refuse('NOT_COMMITTED_IN_TERM', 'the leader has not yet committed an entry of its term; retry shortly');
    }
    if (this.configs.currentIndex() > this.log.committed) {
      return this.refuse('CONFIG_CHANGE_PENDING', `the change at index ${this.configs.currentIndex()} is not committed yet`);
    }
    const result = applyConfigChange(this.configs.current(), change);
    if (!result.ok) return this.refuse('INVALID_CONFIG_CHANGE', result.message);
    return { ok: true, index: this.appendAsLeader('config', encodeConfigChange(change, result.config)) };
  }

  /**
   * The runtime has a snapshot of the state machine at `index` (<= applied). Keep it
   * to send to followers that fall behind, and drop the log it covers (§7).
   */
  compact(snapshot: { index: LogIndex; data: SnapshotData }): void {
    const { index, data } = snapshot;
    if (index <= this.snapshotIndex()) return;
    assert(index <= this.log.applied, () => `snapshot at ${index} is ahead of applied ${this.log.applied}`);
    this.snapshot = { meta: this.snapshotMetaAt(index), data };
    const to = this.catchUpFloor(index);
    this.log.compact(to);
    this.configs.compactedTo(to);
  }

  /** The newest snapshot's index (0: none); the log may hold entries before it (catchUpFloor). */
  private snapshotIndex(): LogIndex {
    return Math.max(this.snapshot?.meta.index ?? 0, this.log.compactedIndex());
  }

  /** Where to compact the log for a snapshot at `index`: before it, the last entries within snapshotCatchUpEntries and snapshotCatchUpBytesMax stay. */
  private catchUpFloor(index: LogIndex): LogIndex {
    let floor = index;
    let bytes = 0;
    while (floor > this.log.compactedIndex() && index - floor < this.cfg.snapshotCatchUpEntries) {
      // Only entries held in memory cost memory: those on disk are kept by count alone.
      if (this.log.inMemory(floor)) bytes += this.log.entry(floor).data.length;
      if (bytes > this.cfg.snapshotCatchUpBytesMax) break;
      floor--;
    }
    return floor;
  }

  /**
   * Whether a snapshot of the state machine at `index` can be taken: past the newest one,
   * and applied as far as this node knows. After a restart the state machine may have
   * applied entries whose commit this node has yet to learn again (the commit index is
   * volatile, Figure 2; it is persisted only with the next hard state): until it does,
   * no snapshot there.
   */
  canSnapshotAt(index: LogIndex): boolean {
    return index > this.snapshotIndex() && index <= this.log.applied;
  }

  /**
   * What a snapshot of the state machine at `index` (applied, not yet compacted) records
   * besides its data: the runtime writes it into the snapshot file before compact().
   */
  snapshotMetaAt(index: LogIndex): SnapshotMeta {
    assert(this.canSnapshotAt(index), () => `no snapshot can be taken at ${index}`);
    return { index, term: this.log.term(index) as Term, config: this.configs.at(index) };
  }

  /**
   * The runtime stored every chunk of the snapshot `meta` it was receiving and checked
   * it (see Ready in types.ts). A good one is installed (Figure 13 steps 6-8) with the
   * bytes as stored, and the leader told it is done; a bad one is dropped and the
   * leader asked for it again from its first byte, having changed nothing here: no
   * correct leader sends a snapshot this node cannot install.
   */
  snapshotReceived(meta: SnapshotMeta, received: ReceivedSnapshot): void {
    const incoming = this.incomingSnapshot;
    if (!incoming?.complete || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term) return;
    this.incomingSnapshot = undefined;
    const reply = (nextOffset: number, done: boolean): void =>
      this.send({ type: 'snapshotResponse', to: incoming.from, snapshotIndex: meta.index, nextOffset, done });
    if (!received.ok) {
      reply(0, false);
      return;
    }
    assert(received.data.byteLength === incoming.size, () => `snapshot ${meta.index} was stored with ${received.data.byteLength} bytes, not ${incoming.size}`);
    // Committed past it meanwhile: nothing to install.
    if (meta.index > this.log.committed) this.installSnapshot({ meta, data: received.data });
    reply(incoming.size, true);
  }

  /**
   * A message from a peer. Returns an ImpossibleMessage, having changed nothing, for
   * a message no correct member could send (see impossibility()): one faulty or
   * hostile peer must not be able to stop this node or corrupt its state.
   */
  step(m: Message): ImpossibleMessage | undefined {
    if (m.to !== this.id) return undefined;
    if (m.type === 'leaseRenew' || m.type === 'leaseRenewResponse') {
      return { code: 'IMPOSSIBLE_MESSAGE', reason: `a ${m.type} is the runtime's to take, not the core's` };
    }
    const reason = this.impossibility(m);
    if (reason !== undefined) return { code: 'IMPOSSIBLE_MESSAGE', reason };
    this.stepChecked(m);
    return undefined;
  }

  private stepChecked(m: Message): void {
    if (!this.stepTerm(m)) return;
    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      case 'timeoutNow':
        // Thesis §3.10: the target starts an election at once, skipping pre-vote, and
        // marks it so voters that still hear the old leader take part anyway.
        if (this.role !== 'leader' && this.promotable()) this.campaign('election', true);
        return;
      default:
        break;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
      default:
        unreachable(this.role, 'role');
    }
  }

  // ---------------------------------------------------------------------------
  // Output
  // ---------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.messages.length > 0 ||
      this.snapshotChunks.length > 0 ||
      this.readStates.length > 0 ||
      this.snapshotToInstall !== undefined ||
      this.log.persisting < this.log.lastIndex() ||
      this.firstUnappliedIndex() <= this.appliableIndex() ||
      !sameHardState(this.hardState(), this.lastHardState) ||
      !sameSoftState(this.softState(), this.lastSoftState)
    );
  }

  /**
   * Hands out what the runtime must do now (see `Ready` in types.ts). The core counts
   * it as handed out at once, so the next ready() holds only what is new: the runtime
   * may take it while this one's write is still in flight, and reports each part done
   * with persisted() and applied() (or both at once with advance()).
   */
  ready(): Ready {
    this.sendDueAppends();
    const hardState = this.hardState();
    const softState = this.softState();
    const ready: Ready = {
      softState: sameSoftState(softState, this.lastSoftState) ? undefined : softState,
      hardState: sameHardState(hardState, this.lastHardState) ? undefined : hardState,
      entries: this.log.unpersisted(),
      snapshotChunks: this.snapshotChunks,
      snapshot: this.snapshotToInstall,
      messages: this.messages,
      committedEntries: this.committedToApply(),
      readStates: this.readStates,
    };
    this.messages = [];
    this.snapshotChunks = [];
    this.readStates = [];
    this.lastHardState = hardState;
    this.lastSoftState = softState;
    this.log.persisting = this.log.lastIndex();
    if (ready.snapshot) {
      this.snapshotInstalling = ready.snapshot;
      this.snapshotToInstall = undefined;
    }
    const lastToApply = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastToApply) this.log.applying = Math.max(this.log.applying, lastToApply.index);
    return ready;
  }

  /**
   * The runtime made `ready`'s snapshot, entries and hard state durable (in the order
   * the Readys were handed out). Only now does this node's own copy count toward
   * commitment (thesis §10.2.1: a leader may send before its own write completes, but
   * counts itself once its entries are durable).
   */
  persisted(ready: Ready): void {
    const lastWritten = ready.entries[ready.entries.length - 1];
    // A step since ready() may have truncated what this Ready wrote; the term check
    // tells whether the entry we wrote is still the one in the log.
    if (lastWritten && this.log.matchTerm(lastWritten.index, lastWritten.term)) {
      this.log.persisted = Math.max(this.log.persisted, Math.min(lastWritten.index, this.log.persisting));
    }
    if (this.role === 'leader' && this.maybeCommit()) this.broadcastCommit();
    this.log.release(this.cfg.logMemoryBytesMax);
  }

  /** The runtime installed `ready`'s snapshot and applied its committed entries. */
  applied(ready: Ready): void {
    if (ready.snapshot) {
      if (this.snapshotInstalling === ready.snapshot) this.snapshotInstalling = undefined;
      this.log.applied = Math.max(this.log.applied, ready.snapshot.meta.index);
      this.log.applying = Math.max(this.log.applying, this.log.applied);
    }
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied) this.log.applied = Math.max(this.log.applied, lastApplied.index);
    this.log.release(this.cfg.logMemoryBytesMax);
  }

  /** persisted() and applied() at once: for a runtime that does one Ready at a time. */
  advance(ready: Ready): void {
    this.persisted(ready);
    this.applied(ready);
  }

  currentTerm(): number {
    return this.term;
  }

  /** The configuration in effect (status().config), without building the whole status. */
  membership(): ClusterConfig {
    return this.configs.current();
  }

  status(): RaftStatus {
    const peers: PeerStatus[] = [];
    for (const [id, pr] of this.progress) {
      peers.push({ id, match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      persisted: this.log.persisted,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      config: this.configs.current(),
      transferee: this.transferee,
      uncommittedBytes: this.uncommittedBytes,
      peers,
    };
  }

  /**
   * The entries from `low` through `high` that the runtime's state machine applied, about
   * `bytesMax` of them at most (always one), entries on disk read back: for a runtime that
   * applies them again (to a defragmented copy). Undefined if the log no longer holds
   * `low`. Not checked against this core's applied index: a state machine restarted ahead
   * of the commit index on disk applied entries this core has yet to learn are committed.
   */
  appliedEntries(low: LogIndex, high: LogIndex, bytesMax: number): readonly Entry[] | undefined {
    assert(high <= this.log.lastIndex(), () => `entries through ${high} asked for, the log ends at ${this.log.lastIndex()}`);
    if (low < this.log.firstIndex()) return undefined;
    return this.log.slice(low, high + 1, { bytesMax, countMax: Infinity });
  }

  /** The log from `low` (>= firstIndex) to the end, entries on disk read back, for checkers and tools. */
  entriesFrom(low: LogIndex): readonly Entry[] {
    if (low > this.log.lastIndex()) return [];
    return this.log.slice(Math.max(low, this.log.firstIndex()), this.log.lastIndex() + 1);
  }

  /** How far this node is into its election timeout (§5.2), for viewers that draw the
   * countdown. A leader's `timeoutTicks` is its check-quorum period instead. */
  electionTimer(): { readonly elapsedTicks: number; readonly timeoutTicks: number } {
    const timeoutTicks = this.role === 'leader' ? this.cfg.electionTicks : this.randomizedElectionTicks;
    return { elapsedTicks: this.electionElapsed, timeoutTicks };
  }

  /** The snapshot this node holds, if any. */
  currentSnapshot(): Snapshot | undefined {
    return this.snapshot;
  }

  /**
   * Invariants that must hold between any two inputs (Figure 3's properties, locally).
   * Tests call it after every step; it throws AssertionError on a broken one.
   */
  checkInvariants(): void {
    const { committed, applied, persisted } = this.log;
    assert(committed <= this.log.lastIndex(), () => `commit ${committed} > last index ${this.log.lastIndex()}`);
    assert(applied <= committed, () => `applied ${applied} > commit ${committed}`);
    assert(persisted <= this.log.lastIndex(), () => `persisted ${persisted} > last index ${this.log.lastIndex()}`);
    assert(this.log.compactedIndex() <= committed, 'compacted past the commit index');
    assert(this.term >= this.checkedTerm, () => `term went back from ${this.checkedTerm} to ${this.term}`);
    if (this.term === this.checkedTerm && this.checkedVote !== NO_NODE) {
      assert(this.vote === this.checkedVote, () => `voted for ${this.checkedVote} then ${this.vote} in term ${this.term}`);
    }
    this.checkedTerm = this.term;
    this.checkedVote = this.vote;
    assert(this.log.lastTerm() <= this.term, () => `last log term ${this.log.lastTerm()} > current term ${this.term}`);
    this.log.checkShape(256);
    if (this.role === 'leader') {
      assert(this.leader === this.id, 'a leader must know itself as leader');
      assert(this.vote === this.id, 'a leader voted for itself');
    }
    if (this.role === 'candidate') assert(this.vote === this.id, 'a candidate voted for itself');
    if (this.role !== 'leader') assert(this.progress.size === 0 && this.transferee === NO_NODE, 'only a leader tracks progress');
    assert(this.uncommittedBytes >= 0, 'negative uncommitted bytes');
  }

  // ---------------------------------------------------------------------------
  // Roles
  // ---------------------------------------------------------------------------

  private becomeFollower(term: Term, leader: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
  }

  /** Pre-vote (thesis §9.6): ask whether we could win before disturbing anyone's term. */
  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    this.votes.clear();
    this.role = 'preCandidate';
    this.leader = NO_NODE;
    this.electionElapsed = 0;
    this.resetElectionTimeout();
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    for (const id of members(this.configs.current())) this.addProgress(id);
    // §5.4.2 / thesis §6.4: a new leader does not know which entries of older terms
    // are committed until it commits one of its own; a no-op gets it there at once.
    this.appendAsLeader('normal', emptyData);
  }

  /** Clears what belongs to one term and role. */
  private reset(term: Term): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.leader = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.progress.clear();
    this.transferee = NO_NODE;
    this.uncommittedBytes = 0;
    this.reads.clear();
    this.readsBeforeCommit = [];
    this.heartbeatSeqAnswered = 0;
  }

  /** §5.2: randomized election timeouts in [electionTicks, 2 * electionTicks) make
   * split votes rare. */
  private resetElectionTimeout(): void {
    this.randomizedElectionTicks = this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
  }

  /** Only voters stand for election; learners and removed nodes never do. */
  private promotable(): boolean {
    return isVoter(this.configs.current(), this.id);
  }

  // ---------------------------------------------------------------------------
  // Timers
  // ---------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.campaign(this.cfg.preVote ? 'preElection' : 'election', false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      // Check-quorum (thesis §6.2): a leader that has not heard from a majority for a
      // whole election timeout is probably partitioned away; stepping down lets
      // clients find the real leader and keeps its lease-like reads honest.
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NO_NODE);
        return;
      }
    }
    // Thesis §3.10: a transfer that did not finish within an election timeout is abandoned.
    if (this.transferee !== NO_NODE && ++this.transferElapsed >= this.cfg.electionTicks) this.transferee = NO_NODE;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const voters = this.configs.current().voters;
    let active = 0;
    for (const id of voters) {
      if (id === this.id) active++;
      else if (this.progress.get(id)?.recentActive) active++;
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return active >= quorumSize(voters.length);
  }

  // ---------------------------------------------------------------------------
  // Elections (§5.2, thesis §9.6)
  // ---------------------------------------------------------------------------

  private campaign(kind: 'preElection' | 'election', transfer: boolean): void {
    if (kind === 'preElection') this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = kind === 'preElection' ? this.term + 1 : this.term;
    this.votes.set(this.id, true);
    if (this.countVotes()) return;
    const type = kind === 'preElection' ? 'preVote' : 'vote';
    for (const id of this.configs.current().voters) {
      if (id === this.id) continue;
      this.send({ type, to: id, term: voteTerm, lastLogIndex: this.log.lastIndex(), lastLogTerm: this.log.lastTerm(), transfer });
    }
  }

  /** Acts on the votes so far; true when the campaign is decided. */
  private countVotes(): boolean {
    const tally = tallyVotes(this.configs.current().voters, this.votes);
    if (tally === 'won') {
      if (this.role === 'preCandidate') this.campaign('election', false);
      else this.becomeLeader();
      return true;
    }
    if (tally === 'lost') {
      this.becomeFollower(this.term, NO_NODE);
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: VoteRequest): void {
    const responseType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    // One vote per term (§5.2). A pre-vote for a future term binds nothing, so it may
    // be granted whatever we voted in this one.
    const canVote = this.vote === m.from || (this.vote === NO_NODE && this.leader === NO_NODE) || (m.type === 'preVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // The answer carries the term asked about, so the candidate counts it.
      this.send({ type: responseType, to: m.from, term: m.term, granted: true });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, granted: false });
    }
  }

  // ---------------------------------------------------------------------------
  // Messages no correct member sends. Checked before anything changes, so such a
  // message leaves no trace. Messages of older terms are left to stepTerm: the
  // network may deliver them late, and they are ignored there.
  // ---------------------------------------------------------------------------

  /** Why `m` cannot come from a correct member, or undefined. */
  private impossibility(m: Message): string | undefined {
    if (m.term < this.term) return undefined;
    switch (m.type) {
      case 'append':
        return this.secondLeader(m) ?? this.appendImpossibility(m);
      case 'heartbeat':
        // The leader caps `commit` at what this node acknowledged holding in its
        // term (broadcastHeartbeat), and an acknowledged entry is durable.
        return (
          this.secondLeader(m) ??
          (m.commit > this.log.lastIndex()
            ? `a heartbeat commits up to index ${m.commit}, but this node's log ends at index ${this.log.lastIndex()}: no leader sends that ` +
              '(unless this node lost entries it had acknowledged, as after a WAL cut by keel repair or a replaced data directory: then remove this member and add it back with an empty data directory)'
            : undefined)
        );
      case 'snapshot': {
        const problem = m.offset === 0 ? this.snapshotStartProblem(m.meta, m.data) : undefined;
        return this.secondLeader(m) ?? (problem === undefined ? undefined : `a snapshot at index ${m.meta.index} that this node could not install: ${problem}`);
      }
      case 'appendResponse':
        // A follower acknowledges only entries this leader sent it, from its log.
        if (this.role === 'leader' && m.term === this.term && m.success && m.index > this.log.lastIndex()) {
          return `node ${m.from} acknowledges entries up to index ${m.index}, but this leader's log ends at index ${this.log.lastIndex()}`;
        }
        return undefined;
      case 'heartbeatResponse':
        if (this.role === 'leader' && m.term === this.term && m.seq > this.heartbeatSeq) {
          return `node ${m.from} answers heartbeat round ${m.seq}, but this leader has sent only ${this.heartbeatSeq} rounds`;
        }
        return undefined;
      default:
        return undefined;
    }
  }

  /** §5.2 Election Safety: at most one leader per term. */
  private secondLeader(m: AppendRequest | HeartbeatRequest | SnapshotRequest): string | undefined {
    if (m.term !== this.term) return undefined;
    if (this.role === 'leader') return `node ${m.from} sends a ${m.type} as leader of term ${m.term}, but this node leads that term`;
    if (this.role === 'follower' && this.leader !== NO_NODE && this.leader !== m.from) {
      return `node ${m.from} sends a ${m.type} as leader of term ${m.term}, but node ${this.leader} leads that term`;
    }
    return undefined;
  }

  /**
   * Leader Completeness (§5.4): a leader holds every committed entry, so what it sends
   * agrees with this node's committed prefix; and a leader appends only valid
   * configuration changes (thesis §4.1).
   */
  private appendImpossibility(m: AppendRequest): string | undefined {
    const committed = this.log.committed;
    const checkFrom = this.log.compactedIndex();
    if (m.prevIndex >= checkFrom && m.prevIndex <= committed && !this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      return `an append says entry ${m.prevIndex} has term ${m.prevTerm}, but this node committed it with term ${this.log.term(m.prevIndex)}`;
    }
    for (const entry of m.entries) {
      if (entry.index > committed) break;
      if (entry.index > checkFrom && !this.log.matchTerm(entry.index, entry.term)) {
        return `an append overwrites committed entry ${entry.index} (term ${this.log.term(entry.index)}) with one of term ${entry.term}`;
      }
    }
    if (m.prevIndex < committed || !this.log.matchTerm(m.prevIndex, m.prevTerm)) return undefined;
    const conflict = this.log.findConflict(m.entries);
    if (conflict === 0) return undefined;
    let config = this.configs.at(conflict - 1);
    for (const entry of m.entries) {
      if (entry.index < conflict || entry.kind !== 'config') continue;
      const problem = configEntryProblem(config, entry);
      if (problem !== undefined) return `an append carries a configuration change no leader would make: ${problem}`;
      config = decodeConfigEntry(entry.data).config;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------
  // The shared term check (§5.1: "If RPC request or response contains term T >
  // currentTerm: set currentTerm = T, convert to follower"; stale terms are refused).
  // Returns false when the message is consumed here.
  // ---------------------------------------------------------------------------

  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Thesis §4.2.3: while we hear from a leader (within the minimum election
        // timeout) we ignore requests to replace it, so a removed or partitioned
        // server cannot disrupt the cluster. A transfer is the leader's own wish.
        const inLease = this.cfg.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.transfer) return false;
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'preVoteResponse' && m.granted) {
        // The term is the one we would campaign for; we adopt it only by campaigning.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else if (m.type === 'vote') {
        // Figure 2: only hearing from the current leader or granting a vote restarts
        // the election timer. Stepping down for a vote request we may refuse must not,
        // or a server that keeps campaigning without a chance (a removed one with a
        // stale log, say) holds off for good the elections of those who could win.
        const electionElapsed = this.electionElapsed;
        this.becomeFollower(m.term, NO_NODE);
        this.electionElapsed = electionElapsed;
      } else {
        this.becomeFollower(m.term, NO_NODE);
      }
      return true;
    }
    if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A leader cut off from the cluster keeps its old term; with pre-vote we would
        // never raise ours to reach it, so tell it the current term and it steps down.
        this.send({ type: 'appendResponse', to: m.from, success: false, index: 0, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResponse', to: m.from, granted: false });
      } else if (m.type === 'vote') {
        // Figure 2, RequestVote: "reply false if term < currentTerm", with our term "for
        // candidate to update itself". Ignoring it instead can leave a candidate behind
        // for good: a voter that counts the candidate as a learner (an older
        // configuration) never sends it anything, and both raise their terms at the
        // same pace.
        this.send({ type: 'voteResponse', to: m.from, granted: false });
      }
      // Anything else from an older term is stale: votes and acknowledgements of
      // older terms count for nothing (§5.1).
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------
  // Followers and candidates
  // ---------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.heardFromLeader(m.from);
        this.handleSnapshotChunk(m);
        return;
      case 'propose':
        if (this.leader !== NO_NODE) this.send({ type: 'propose', to: this.leader, data: m.data });
        return;
      case 'readIndexResponse':
        this.readStates.push({ readId: m.readId, index: m.index });
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // §5.2: a candidate that hears from a leader of its term steps back.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse': {
        const expected = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
        if (m.type !== expected || !isVoter(this.configs.current(), m.from)) return;
        this.votes.set(m.from, m.granted);
        this.countVotes();
        return;
      }
      default:
        return;
    }
  }

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.leader = leader;
  }

  /** AppendEntries receiver, Figure 2. */
  private handleAppend(m: AppendRequest): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit index is known to match (Log Matching), so
      // answer with it and let the leader continue from there.
      this.send({ type: 'appendResponse', to: m.from, success: true, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
      return;
    }
    if (!this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const hintIndex = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
      this.send({
        type: 'appendResponse',
        to: m.from,
        success: false,
        index: m.prevIndex,
        hintIndex,
        hintTerm: this.log.term(hintIndex) as Term,
      });
      return;
    }
    const conflict = this.log.findConflict(m.entries);
    if (conflict !== 0) this.appendToLog(m.entries.slice(conflict - m.prevIndex - 1));
    const lastNewIndex = m.prevIndex + m.entries.length;
    // Figure 2: commitIndex = min(leaderCommit, index of last new entry). We have
    // verified our log only up to lastNewIndex; what follows may still conflict.
    this.log.commitTo(Math.min(m.commit, lastNewIndex));
    if (m.commitOnly) return; // a success it need not hear (AppendRequest.commitOnly)
    this.send({ type: 'appendResponse', to: m.from, success: true, index: lastNewIndex, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    // The leader caps `commit` at what it knows we hold (impossibility() drops a
    // heartbeat that does not: one peer's word is no evidence that this node lost
    // entries; storage checks its own hard state against its log at start).
    this.log.commitTo(m.commit);
    this.heartbeatSeqAnswered = Math.max(this.heartbeatSeqAnswered, m.seq);
    this.send({ type: 'heartbeatResponse', to: m.from, seq: m.seq, lastIndex: this.log.lastIndex() });
  }

  /**
   * InstallSnapshot receiver (§7, Figure 13), one chunk at a time: each goes to the
   * runtime to store (Ready.snapshotChunks) and is acknowledged once written; the last
   * is answered once the runtime has stored and checked the whole (snapshotReceived).
   */
  private handleSnapshotChunk(m: SnapshotRequest): void {
    const { meta } = m;
    const reply = (nextOffset: number, done: boolean): void => this.send({ type: 'snapshotResponse', to: m.from, snapshotIndex: meta.index, nextOffset, done });
    if (meta.index <= this.log.committed) {
      // We already hold (and have committed) everything this snapshot covers.
      this.incomingSnapshot = undefined;
      reply(0, true);
      return;
    }
    let incoming = this.incomingSnapshot;
    if (!incoming || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term) {
      // Figure 13 step 2: a new snapshot starts at offset 0.
      if (m.offset !== 0) {
        reply(0, false);
        return;
      }
      incoming = { meta, from: m.from, size: 0, complete: false };
      this.incomingSnapshot = incoming;
    }
    incoming.from = m.from;
    // The runtime is checking the whole: its answer is the reply.
    if (incoming.complete) return;
    if (m.offset !== incoming.size) {
      reply(incoming.size, false);
      return;
    }
    this.snapshotChunks.push({ meta, offset: m.offset, data: m.data, done: m.done });
    incoming.size += m.data.length;
    if (m.done) incoming.complete = true;
    else reply(incoming.size, false);
  }

  private installSnapshot(snapshot: Snapshot): void {
    const { meta } = snapshot;
    if (this.log.matchTerm(meta.index, meta.term)) {
      // Figure 13 step 6: our log already has the snapshot's last entry, so it
      // agrees up to there; keep what follows and just commit.
      this.log.commitTo(meta.index);
      return;
    }
    // Figure 13 step 7: discard the whole log and reset to the snapshot.
    this.log.restore(meta.index, meta.term);
    this.configs.reset({ index: meta.index, config: meta.config });
    this.snapshot = snapshot;
    this.snapshotToInstall = snapshot;
  }

  // ---------------------------------------------------------------------------
  // Leader
  // ---------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendResponse':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m);
        return;
      case 'snapshotResponse':
        this.handleSnapshotResponse(m);
        return;
      case 'propose':
        // Forwarded proposals that cannot be accepted are dropped; the follower's
        // client times out and retries (its write is exactly-once via sessions).
        if (!this.checkProposal(m.data)) this.appendAsLeader('normal', m.data);
        return;
      case 'readIndex':
        this.leaderReadIndex(m.readId, m.from);
        return;
      default:
        return;
    }
  }

  private checkProposal(data: Uint8Array): Outcome<never> | undefined {
    if (data.length > this.cfg.entryBytesMax) {
      return this.refuse('ENTRY_TOO_LARGE', `proposal of ${data.length} bytes exceeds entryBytesMax ${this.cfg.entryBytesMax}`);
    }
    // Thesis §3.10: no new entries while handing leadership over, or the transfer
    // might never catch the target up.
    if (this.transferee !== NO_NODE) return this.refuse('TRANSFERRING', `leadership is being transferred to ${this.transferee}`);
    // Bounded memory: refuse, rather than queue without limit, once too much is in
    // flight; an empty pipeline always admits one proposal so progress is possible.
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.length > this.cfg.uncommittedBytesMax) {
      return this.refuse(
        'UNCOMMITTED_BYTES_LIMIT',
        `${this.uncommittedBytes} bytes are waiting to commit (uncommittedBytesMax ${this.cfg.uncommittedBytesMax})`,
      );
    }
    return undefined;
  }

  private appendAsLeader(kind: EntryKind, data: Uint8Array): LogIndex {
    const entry: Entry = { term: this.term, index: this.log.lastIndex() + 1, kind, data };
    this.appendToLog([entry]);
    this.uncommittedBytes += data.length;
    // Sent when the runtime next takes a Ready, with every entry proposed until then:
    // one append per follower for a burst of proposals instead of one per proposal.
    // A message may always leave later than it could have (§5.1: the network may delay it).
    this.appendsDue = true;
    return entry.index;
  }

  /** Sends the entries appended as leader since the last Ready to each follower that lacks them. */
  private sendDueAppends(): void {
    if (!this.appendsDue) return;
    this.appendsDue = false;
    if (this.role !== 'leader') return;
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, false);
  }

  /** Appends to our log and keeps the configuration in step with it (§4.1). */
  private appendToLog(entries: readonly Entry[]): void {
    const truncatedFrom = this.log.append(entries);
    if (truncatedFrom !== 0) this.configs.truncatedFrom(truncatedFrom);
    this.configs.appended(entries);
    if (this.role === 'leader' && entries.some((e) => e.kind === 'config')) this.syncProgressWithConfig();
  }

  private syncProgressWithConfig(): void {
    const config = this.configs.current();
    for (const id of members(config)) if (!this.progress.has(id)) this.addProgress(id);
    for (const id of [...this.progress.keys()]) if (!isMember(config, id)) this.progress.delete(id);
    if (this.transferee !== NO_NODE && !isVoter(config, this.transferee)) this.transferee = NO_NODE;
  }

  private addProgress(id: NodeId): void {
    const pr = new Progress(this.log.lastIndex() + 1, this.cfg.inflightMessagesMax, this.cfg.inflightBytesMax);
    if (id === this.id) pr.match = this.log.persisted;
    this.progress.set(id, pr);
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /** The commit index advanced: tell every follower, with whatever entries it still lacks. */
  private broadcastCommit(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, true, true);
  }

  /**
   * Sends `to` the entries it lacks (or the snapshot); false when nothing was sent.
   * `forCommit`: sent because the commit index advanced (broadcastCommit).
   */
  private sendAppend(to: NodeId, sendIfEmpty = true, forCommit = false): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) {
      this.sendSnapshot(to, pr);
      return true;
    }
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, {
      bytesMax: this.cfg.bytesPerMessageMax,
      countMax: this.cfg.entriesPerMessageMax,
    });
    if (entries.length === 0 && !sendIfEmpty) return false;
    // An empty append sent for a commit to a follower in replicate state carries only the
    // commit index. Every other empty append asks a question and must be answered: a
    // probe (probe state), or the resend after a heartbeat answer showed the follower's
    // log past what it acknowledged (its acknowledgement was lost).
    const commitOnly = forCommit && entries.length === 0 && pr.state === 'replicate';
    this.send({ type: 'append', to, prevIndex, prevTerm, entries, commit: this.log.committed, ...(commitOnly ? { commitOnly } : {}) });
    pr.sentEntries(
      prevIndex + entries.length,
      entries.reduce((sum, e) => sum + e.data.length, 0),
    );
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snapshot = this.snapshot;
    assert(snapshot !== undefined, () => `follower ${to} needs compacted entries but there is no snapshot`);
    pr.becomeSnapshot(snapshot.meta.index);
    this.sendSnapshotChunk(to, pr, 0);
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress, offset: number): void {
    const snapshot = this.snapshot as Snapshot;
    if (snapshot.meta.index !== pr.snapshotIndex) {
      // We compacted again since this transfer began. Every chunk must come from one
      // snapshot (Figure 13: the follower restarts on a new one at offset 0), and
      // the follower's answers name the snapshot they are about, so start the newer
      // one from its first byte; resending the newer one's bytes under the old
      // transfer looped for good.
      pr.becomeSnapshot(snapshot.meta.index);
      offset = 0;
    }
    const data = snapshot.data.subarray(offset, offset + this.cfg.snapshotChunkBytesMax);
    const done = offset + data.length >= snapshot.data.byteLength;
    this.send({ type: 'snapshot', to, meta: snapshot.meta, offset, data, done });
    pr.snapshotSentOffset = offset;
    pr.snapshotSentRound = this.heartbeatSeq;
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (!m.success) {
      // Fast backtracking: skip every entry of a term the follower cannot match.
      const matchHint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
      if (pr.maybeDecreaseTo(m.index, matchHint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.snapshotIndex) pr.becomeProbe();
    if (this.maybeCommit()) this.broadcastCommit();
    else if (wasPaused) this.sendAppend(m.from);
    // Fill the in-flight window with whatever else the follower lacks.
    while (this.sendAppend(m.from, false)) {
      if (pr.state !== 'replicate') break;
    }
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: m.from });
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (m.seq > pr.heartbeatSeqAcked) pr.heartbeatSeqAcked = m.seq;
    if (pr.state === 'snapshot') {
      // A chunk or its answer was lost: resend from where the follower last was. Only
      // once the follower answered a round begun after the one the chunk left in: a
      // chunk is answered once written to disk, later than a heartbeat sent after it,
      // and resending at every answer sent each chunk of a large snapshot two or three
      // times.
      if (m.seq > pr.snapshotSentRound + 1) this.sendSnapshotChunk(m.from, pr, pr.snapshotAckedOffset);
    } else if (pr.state === 'replicate' && m.seq === this.heartbeatSeq && m.lastIndex < pr.nextAtHeartbeat - 1) {
      // The follower answered our latest round without the appends we sent before
      // it: they were lost. Probe from what it is known to hold.
      pr.becomeProbe();
      this.sendAppend(m.from);
    } else if (pr.match < this.log.lastIndex()) {
      // A full window whose acknowledgements were lost (or whose appends were, when
      // answers to the latest round keep arriving after the next round started)
      // would stall replication for good. As etcd-io/raft does, a heartbeat answer
      // frees the oldest slot; the append sent next is answered with where the
      // follower really is (§5.3: the leader retries AppendEntries indefinitely).
      if (pr.state === 'replicate') pr.freeFirstInflightIfFull();
      this.sendAppend(m.from);
    }
    this.releaseReads();
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (pr.state !== 'snapshot' || m.snapshotIndex !== pr.snapshotIndex) return;
    if (m.done) {
      // The follower persisted the snapshot before answering (Ready contract).
      pr.maybeUpdate(m.snapshotIndex);
      pr.becomeProbe();
      this.sendAppend(m.from);
      // Thesis §3.10: a transfer target that the snapshot brought fully up to date is
      // told to campaign now; the answer to that empty append will not advance its
      // match, so handleAppendResponse would never send TimeoutNow.
      if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: m.from });
      return;
    }
    pr.snapshotAckedOffset = m.nextOffset;
    if (this.snapshot?.meta.index !== pr.snapshotIndex) {
      // We compacted again meanwhile; send the newer snapshot instead.
      this.sendSnapshot(m.from, pr);
    } else if (m.nextOffset > pr.snapshotSentOffset || m.nextOffset === 0) {
      // Only advance: answers to duplicated or reordered chunks must not start a
      // resend loop. Lost chunks are resent on the next heartbeat answer.
      this.sendSnapshotChunk(m.from, pr, m.nextOffset);
    }
  }

  /**
   * §5.3/§5.4.2: advance the commit index to the highest index stored on a majority of
   * voters, but only if that entry is of the current term (Figure 8: counting
   * replicas of an older term's entry is not enough to commit it).
   */
  private maybeCommit(): boolean {
    const self = this.progress.get(this.id);
    if (self) self.match = this.log.persisted;
    const config = this.configs.current();
    const index = quorumMatchIndex(config.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    const previous = this.log.committed;
    this.log.commitTo(index);
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - this.bytesOfTermBetween(previous, index));
    if (this.readsBeforeCommit.length > 0) {
      const waiting = this.readsBeforeCommit;
      this.readsBeforeCommit = [];
      for (const read of waiting) this.leaderReadIndex(read.readId, read.from);
    }
    // Thesis §4.2.2: a leader removed from the configuration manages the cluster
    // until the change commits, then steps down.
    // Tell the followers the change committed before leaving.
    if (!isVoter(config, this.id) && this.configs.currentIndex() <= this.log.committed) {
      this.broadcastAppend();
      this.becomeFollower(this.term, NO_NODE);
    }
    return true;
  }

  private bytesOfTermBetween(after: LogIndex, upTo: LogIndex): number {
    let bytes = 0;
    for (let i = Math.max(after + 1, this.log.firstIndex()); i <= upTo; i++) {
      const entry = this.log.entry(i);
      if (entry.term === this.term) bytes += entry.data.length;
    }
    return bytes;
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private broadcastHeartbeat(): void {
    this.heartbeatSeq++;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      pr.nextAtHeartbeat = pr.next;
      this.send(this.heartbeatTo(id, pr));
    }
  }

  private heartbeatTo(id: NodeId, pr: Progress): Omit<HeartbeatRequest, 'from' | 'term'> {
    // Never tell a follower to commit past what it is known to hold.
    return { type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed), seq: this.heartbeatSeq };
  }

  // ---------------------------------------------------------------------------
  // ReadIndex (thesis §6.4)
  // ---------------------------------------------------------------------------

  private leaderReadIndex(readId: string, from: NodeId): Outcome<object> {
    if (!this.committedInCurrentTerm()) {
      // Step 1: until an entry of this term commits, our commit index may be behind
      // entries earlier leaders committed; serving a read now could miss them.
      if (this.readsBeforeCommit.length >= this.cfg.pendingReadsMax) {
        return this.refuse('READ_QUEUE_FULL', `${this.readsBeforeCommit.length} reads are waiting (pendingReadsMax)`);
      }
      this.readsBeforeCommit.push({ readId, from });
      return { ok: true };
    }
    const voters = this.configs.current().voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.releaseRead({ readId, from, index: this.log.committed });
      return { ok: true };
    }
    if (this.reads.length >= this.cfg.pendingReadsMax) {
      return this.refuse('READ_QUEUE_FULL', `${this.reads.length} reads are waiting (pendingReadsMax)`);
    }
    // Steps 2-3: remember the commit index, then confirm leadership with a round of
    // heartbeats that starts after now. Reads arriving meanwhile share that round.
    // If reads are already queued, a round is in flight for them and this read rides
    // the next one, sent when that round is confirmed (or at the next heartbeat tick).
    const roundInFlight = this.reads.length > 0;
    this.reads.enqueue({ readId, from, index: this.log.committed, seq: this.heartbeatSeq + 1 });
    if (!roundInFlight) this.broadcastHeartbeat();
    return { ok: true };
  }

  /** The newest heartbeat round a majority of voters has answered. */
  private confirmedHeartbeatSeq(): number {
    return quorumMatchIndex(this.configs.current().voters, (id) => (id === this.id ? this.heartbeatSeq : (this.progress.get(id)?.heartbeatSeqAcked ?? 0)));
  }

  private releaseReads(): void {
    const confirmed = this.confirmedHeartbeatSeq();
    for (const read of this.reads.release(confirmed)) this.releaseRead(read);
    // Reads that arrived after the confirmed round started need a round of their own.
    if (this.reads.waitsAfter(this.heartbeatSeq)) this.broadcastHeartbeat();
  }

  private releaseRead(read: { readId: string; from: NodeId; index: LogIndex }): void {
    if (read.from === this.id) this.readStates.push({ readId: read.readId, index: read.index });
    else this.send({ type: 'readIndexResponse', to: read.from, readId: read.readId, index: read.index });
  }

  // ---------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------

  private send(message: Outgoing): void {
    this.messages.push({ ...message, from: this.id, term: message.term ?? this.term } as Message);
  }

  private refuse(reason: RefusalReason, message: string): Outcome<never> {
    return { ok: false, reason, message, leader: this.leader };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  /** The first committed entry not yet handed out to apply: none at or below a snapshot still to install. */
  private firstUnappliedIndex(): LogIndex {
    const installing = Math.max(this.snapshotToInstall?.meta.index ?? 0, this.snapshotInstalling?.meta.index ?? 0);
    return Math.max(this.log.applied, this.log.applying, installing) + 1;
  }

  /**
   * The last entry the runtime may apply. Pipelined: committed and durable here. An entry
   * committed by the others' copies but still being written locally waits for its
   * write, so the state machine never runs ahead of this node's log (after a crash the
   * log must still hold what the store applied), and the apply of an entry already
   * durable never waits for a later write. Otherwise the runtime writes a Ready before
   * applying it, so any committed entry will do.
   */
  private appliableIndex(): LogIndex {
    return this.pipelined ? Math.min(this.log.committed, this.log.persisted) : this.log.committed;
  }

  private committedToApply(): Entry[] {
    const low = this.firstUnappliedIndex();
    const high = this.appliableIndex();
    if (low > high) return [];
    return this.log.slice(low, high + 1, { bytesMax: this.cfg.committedBytesPerReadyMax, countMax: Infinity });
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}
