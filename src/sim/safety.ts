import { AssertionError } from '../lib/index.js';
import type { Entry, HardState, LogIndex, Message, NodeId, Role, Snapshot, SnapshotMeta, Term } from '../raft/index.js';
import { Hasher } from './hash.js';
import { RuleMonitor, type RuleKind, type RuleMonitorOptions, type RuleStatus } from './rule-monitor.js';
import type { Trace } from './trace.js';

/** A broken rule, with the step it was seen at. */
export interface Violation {
  readonly step: number;
  readonly kind: ViolationKind;
  readonly message: string;
}

export type ViolationKind =
  | 'exception' // the core (or the simulator) threw
  | 'core-invariant' // RaftNode.checkInvariants() failed
  | 'election-safety' // two leaders in one term (§5.2, Figure 3)
  | 'log-matching' // same index and term, different entries or prefixes (§5.3)
  | 'leader-append-only' // a leader shrank its log (Figure 3)
  | 'leader-completeness' // a leader lacks a committed entry (§5.4)
  | 'state-machine-safety' // two nodes applied different things at one index (§5.4.3)
  | 'commit-monotonic' // a node's commit index went back other than by a restart
  | 'persistence' // a write or message broke the durability contract (Figure 2)
  | 'ready-contract' // the core handed out something the Ready contract forbids
  | 'lost-write' // an acknowledged write is not in the final history
  | 'linearizability' // the client history has no linearization
  | 'liveness' // no progress after the faults stopped
  | 'watch' // a watcher lost, repeated or reordered an applied change, or nodes' watchers disagree (watch-monitor.ts)
  | 'lease' // a lease expired sooner than its TTL after an acknowledged renewal was sent (lease-clients.ts)
  | RuleKind; // a rule of the algorithm broken at the moment it happens (rule-monitor.ts)

/**
 * What a node's disk durably holds, as the monitor needs it: the hard state, and the
 * log's terms and extent. A crash may lose anything not in it.
 */
export interface DurableView {
  readonly hardState: HardState;
  lastIndex(): LogIndex;
  /** The term of the entry at `index`, if the durable log holds it (or it is the snapshot's). */
  term(index: LogIndex): Term | undefined;
  snapshotIndex(): LogIndex;
}

/** The view of a core the monitor needs (RaftNode provides it). */
export interface ObservedCore {
  checkInvariants(): void;
  status(): RuleStatus;
  entriesFrom(low: LogIndex): readonly Entry[];
}

interface Decided {
  readonly term: Term;
  readonly hash: number;
  /** Upper bound on the term in which the entry was committed: the observer's term
   * when it first saw the entry committed (Infinity when only seen applied). */
  committedByTerm: Term;
}

interface LogRecord {
  readonly hash: number;
  readonly previousTerm: Term;
  readonly node: NodeId;
}

const ROLE = 300;
const roleCodes: Record<Role, number> = { follower: 0, preCandidate: 1, candidate: 2, leader: 3 };

/**
 * Watches a whole simulated cluster and checks Raft's safety properties (Figure 3 of
 * the paper) plus the durability contract of the Ready loop, step by step. It records
 * violations instead of throwing, so the run can stop and print its trace.
 */
export class SafetyMonitor {
  readonly violations: Violation[] = [];
  /** The current simulation step; the run keeps it up to date. */
  now = 0;
  private readonly leaderOfTerm = new Map<Term, NodeId>();
  /** Entries known committed or applied, by index (state machine safety). */
  private readonly decided = new Map<LogIndex, Decided>();
  private maxDecidedIndex: LogIndex = 0;
  /** The state machine's digest after applying each index. */
  private readonly digests = new Map<LogIndex, number>();
  /** Per (index, term): the entry and the term before it, as first persisted (log matching). */
  private readonly logRecords = new Map<number, LogRecord>();
  private readonly lastRole = new Map<NodeId, { role: Role; term: Term; lastIndex: LogIndex }>();
  private readonly lastCommit = new Map<NodeId, LogIndex>();
  private readonly entryHashes = new WeakMap<Entry, number>();

  /** The rules checked as they happen, fed from the reports below. */
  private readonly rules: RuleMonitor;

  constructor(
    private readonly trace: Trace,
    options: RuleMonitorOptions = { checkQuorumElectionTicks: undefined },
  ) {
    this.rules = new RuleMonitor(
      options,
      (kind, message) => this.report(kind, message),
      () => this.now,
    );
  }

  /** The longest stretch of steps so far without a leader in touch with a majority. */
  longestLeaderlessSteps(): number {
    return this.rules.longestLeaderlessSteps(this.now);
  }

  /** A client's read reached `node`'s core (ReadIndex, thesis §6.4). */
  readInvoked(node: NodeId, readId: string): void {
    this.rules.readInvoked(node, readId);
  }

  /** `node`'s core released a read at `index`: it may be served once applied there. */
  readReleased(node: NodeId, readId: string, index: LogIndex): void {
    this.rules.readReleased(node, readId, index);
  }

  /** `message` is about to be stepped into `node`'s core (observe follows). */
  stepping(node: NodeId, message: Message): void {
    this.rules.stepping(node, message);
  }

  /** `node`'s runtime is about to report a snapshot from the leader received whole (observe follows). */
  snapshotReceived(node: NodeId, meta: SnapshotMeta): void {
    this.rules.snapshotReceived(node, meta);
  }

  /** `node`'s core ticked (after observe). */
  ticked(node: NodeId): void {
    this.rules.ticked(node, this.now);
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  report(kind: ViolationKind, message: string): void {
    this.violations.push({ step: this.now, kind, message });
    this.trace.note(this.now, () => `VIOLATION ${kind}: ${message}`);
  }

  /**
   * After every input to a node's core: its own invariants, then the cluster-wide
   * ones that its status can break (election safety, commit monotonicity, leader
   * completeness for a new leader).
   */
  observe(node: NodeId, core: ObservedCore): void {
    try {
      core.checkInvariants();
    } catch (error) {
      if (!(error instanceof AssertionError)) throw error;
      this.report('core-invariant', `node ${node}: ${error.message}`);
      return;
    }
    const status = core.status();
    const previous = this.lastRole.get(node);
    if (
      previous !== undefined &&
      status.role === 'leader' &&
      previous.role === 'leader' &&
      previous.term === status.term &&
      status.lastIndex < previous.lastIndex
    ) {
      this.report('leader-append-only', `node ${node}, leader of term ${status.term}, shrank its log from ${previous.lastIndex} to ${status.lastIndex}`);
    }
    if (previous === undefined || previous.role !== status.role || previous.term !== status.term || previous.lastIndex !== status.lastIndex) {
      this.lastRole.set(node, { role: status.role, term: status.term, lastIndex: status.lastIndex });
    }
    if (previous === undefined || previous.role !== status.role || previous.term !== status.term) {
      if (previous?.role !== status.role) {
        this.trace.event(
          this.now,
          ROLE,
          [node, roleCodes[status.role], status.term],
          () => `role    n${node} ${previous?.role ?? 'start'} -> ${status.role} t${status.term}`,
        );
      }
      if (status.role === 'leader') this.newLeader(node, status.term, core);
    }
    const lastCommit = this.lastCommit.get(node) ?? 0;
    if (status.commit < lastCommit) {
      this.report('commit-monotonic', `node ${node}'s commit index went back from ${lastCommit} to ${status.commit} without a restart`);
    } else if (status.commit > lastCommit) {
      this.committed(node, core, Math.max(lastCommit + 1, status.firstIndex), status.commit, status.term);
    }
    this.lastCommit.set(node, status.commit);
    this.rules.observe(node, status, core);
  }

  /** A node came back from its disk: its commit index may only be what the disk holds
   * (or the disk snapshot's index, which is committed by definition). */
  restarted(node: NodeId, core: ObservedCore, disk: DurableView): void {
    const { commit } = core.status();
    const low = disk.hardState.commit;
    const high = Math.max(low, disk.snapshotIndex());
    if (commit < low || commit > high) {
      this.report('commit-monotonic', `node ${node} restarted with commit index ${commit}, but its disk says ${low}${high > low ? ` (snapshot ${high})` : ''}`);
    }
    this.lastCommit.set(node, commit);
    this.lastRole.delete(node);
    this.rules.restarted(node);
    this.observe(node, core);
  }

  /** A Ready's entries and snapshot reached the disk: record them for log matching. */
  persisted(node: NodeId, entries: readonly Entry[], snapshot: Snapshot | undefined, disk: DurableView): void {
    if (snapshot !== undefined) this.checkSnapshotMeta(node, snapshot);
    this.rules.persisted(node, entries, snapshot, disk.hardState);
    for (const entry of entries) {
      const previousTerm = disk.term(entry.index - 1);
      if (previousTerm === undefined) continue; // overwritten again in the same write
      this.recordLogEntry(node, entry, previousTerm);
    }
  }

  /** The runtime saved a snapshot of its own state machine. */
  snapshotSaved(node: NodeId, snapshot: Snapshot): void {
    this.checkSnapshotMeta(node, snapshot);
    this.rules.compacted(node, snapshot.meta.index);
  }

  /**
   * A message leaves a node: everything it promises must already be on the sender's
   * disk (Figure 2: "respond to RPCs" only after updating stable storage).
   */
  sent(message: Message, disk: DurableView): void {
    const { hardState } = disk;
    this.rules.sent(message);
    const where = `node ${message.from} sent ${message.type} (t${message.term}) to ${message.to}`;
    switch (message.type) {
      case 'preVote':
      case 'preVoteResponse':
        // Pre-votes carry the term the sender would campaign in, never persisted (§9.6).
        return;
      case 'propose':
      case 'readIndex':
        // A follower hands a client's request to the leader: it answers no RPC and
        // promises nothing, so it may leave before the term the follower just learned
        // is on its disk (the replica sends it with the Ready, before the fsync).
        return;
      case 'voteResponse':
        if (message.granted && !(hardState.term > message.term || (hardState.term === message.term && hardState.vote === message.to))) {
          this.report('persistence', `${where} granting its vote, but its disk holds term ${hardState.term} vote ${hardState.vote}`);
          return;
        }
        break;
      case 'appendResponse':
        if (message.success && hardState.term === message.term && disk.lastIndex() < message.index) {
          this.report('persistence', `${where} acknowledging entries up to ${message.index}, but its disk holds only up to ${disk.lastIndex()}`);
          return;
        }
        break;
      case 'snapshotResponse':
        if (message.done && hardState.term === message.term && disk.lastIndex() < message.snapshotIndex) {
          this.report('persistence', `${where} reporting snapshot ${message.snapshotIndex} installed, but its disk holds only up to ${disk.lastIndex()}`);
          return;
        }
        break;
      // A heartbeat answer's lastIndex is only a hint (the leader uses it to notice lost
      // appends, never as a match), and may count entries not yet on disk.
      default:
        break;
    }
    if (hardState.term < message.term) {
      this.report('persistence', `${where}, but its disk holds only term ${hardState.term}`);
    }
  }

  /** A vote grant or append acknowledgement arrives: the promise is still on the
   * sender's disk (terms only grow; an acknowledged log only grows within a term). */
  delivered(message: Message, senderDisk: DurableView): void {
    const { hardState } = senderDisk;
    this.rules.delivered(message);
    const where = `${message.type} from node ${message.from} to ${message.to} (t${message.term}) delivered`;
    if (message.type === 'voteResponse' && message.granted) {
      if (!(hardState.term > message.term || (hardState.term === message.term && hardState.vote === message.to))) {
        this.report('persistence', `${where}, but the voter's disk holds term ${hardState.term} vote ${hardState.vote}`);
      }
    } else if (message.type === 'appendResponse' && message.success) {
      if (hardState.term < message.term || (hardState.term === message.term && senderDisk.lastIndex() < message.index)) {
        this.report(
          'persistence',
          `${where} acknowledging ${message.index}, but the sender's disk holds term ${hardState.term} last index ${senderDisk.lastIndex()}`,
        );
      }
    }
  }

  /** A node applied a committed entry; `digest` is its state machine's after it
   * (undefined within a batch applied as one, whose digest comes with its last entry). */
  applied(node: NodeId, entry: Entry, digest: number | undefined): void {
    this.decide(node, entry, Number.POSITIVE_INFINITY, 'applied');
    if (digest === undefined) return;
    const known = this.digests.get(entry.index);
    if (known === undefined) this.digests.set(entry.index, digest);
    else if (known !== digest) {
      this.report(
        'state-machine-safety',
        `node ${node}'s state machine differs from another node's after applying ${entry.index} (digest ${digest} vs ${known})`,
      );
    }
  }

  /** A node installed a snapshot in its state machine. */
  snapshotInstalled(node: NodeId, snapshot: Snapshot, digest: number): void {
    this.checkSnapshotMeta(node, snapshot);
    const known = this.digests.get(snapshot.meta.index);
    if (known === undefined) this.digests.set(snapshot.meta.index, digest);
    else if (known !== digest) {
      this.report('state-machine-safety', `node ${node} installed snapshot ${snapshot.meta.index} whose state differs from what nodes applied there`);
    }
  }

  /** The entry known committed at `index`, if any (for end-of-run checks). */
  decidedAt(index: LogIndex): { readonly term: Term; readonly hash: number } | undefined {
    return this.decided.get(index);
  }

  entryHash(entry: Entry): number {
    let hash = this.entryHashes.get(entry);
    if (hash === undefined) {
      hash = new Hasher().string(entry.kind).bytes(entry.data).digest();
      this.entryHashes.set(entry, hash);
    }
    return hash;
  }

  private newLeader(node: NodeId, term: Term, core: ObservedCore): void {
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== node) {
      this.report('election-safety', `nodes ${other} and ${node} are both leader in term ${term}`);
      return;
    }
    this.leaderOfTerm.set(term, node);
    // Leader completeness (§5.4.1): every entry committed in an earlier term is in
    // the new leader's log. Entries compacted into its snapshot were checked when the
    // snapshot was made or installed.
    const { firstIndex, lastIndex } = core.status();
    const entries = firstIndex <= this.maxDecidedIndex ? core.entriesFrom(firstIndex) : [];
    for (let index = firstIndex; index <= this.maxDecidedIndex; index++) {
      const decided = this.decided.get(index);
      if (decided === undefined || decided.committedByTerm >= term) continue;
      const entry = entries[index - firstIndex];
      if (index > lastIndex || entry === undefined) {
        this.report(
          'leader-completeness',
          `node ${node} became leader of term ${term} with last index ${lastIndex}, without entry ${index} committed by term ${decided.committedByTerm}`,
        );
        return;
      }
      if (entry.term !== decided.term || this.entryHash(entry) !== decided.hash) {
        this.report(
          'leader-completeness',
          `node ${node} became leader of term ${term} with ${index}/t${entry.term}, but ${index}/t${decided.term} was committed by term ${decided.committedByTerm}`,
        );
        return;
      }
    }
  }

  private committed(node: NodeId, core: ObservedCore, low: LogIndex, high: LogIndex, term: Term): void {
    if (low > high) return;
    const entries = core.entriesFrom(low);
    for (let index = low; index <= high; index++) {
      const entry = entries[index - low];
      if (entry === undefined) {
        this.report('ready-contract', `node ${node} has commit index ${high} but no entry ${index} in its log`);
        return;
      }
      this.decide(node, entry, term, 'committed');
    }
  }

  private decide(node: NodeId, entry: Entry, committedByTerm: Term, how: string): void {
    const hash = this.entryHash(entry);
    const known = this.decided.get(entry.index);
    if (known === undefined) {
      this.decided.set(entry.index, { term: entry.term, hash, committedByTerm });
      if (entry.index > this.maxDecidedIndex) this.maxDecidedIndex = entry.index;
      return;
    }
    if (known.term !== entry.term || known.hash !== hash) {
      this.report(
        'state-machine-safety',
        `node ${node} ${how} ${entry.index}/t${entry.term}, but ${entry.index}/t${known.term} (another entry) was committed there`,
      );
      return;
    }
    if (committedByTerm < known.committedByTerm) known.committedByTerm = committedByTerm;
  }

  private recordLogEntry(node: NodeId, entry: Entry, previousTerm: Term): void {
    const key = entry.index * 0x100000 + entry.term;
    const hash = this.entryHash(entry);
    const known = this.logRecords.get(key);
    if (known === undefined) {
      this.logRecords.set(key, { hash, previousTerm, node });
      return;
    }
    if (known.hash !== hash) {
      this.report('log-matching', `nodes ${known.node} and ${node} hold different entries at ${entry.index}/t${entry.term}`);
    } else if (known.previousTerm !== previousTerm) {
      this.report(
        'log-matching',
        `nodes ${known.node} and ${node} agree on ${entry.index}/t${entry.term} but not on the entry before it (t${known.previousTerm} vs t${previousTerm})`,
      );
    }
  }

  private checkSnapshotMeta(node: NodeId, snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    const decided = this.decided.get(index);
    if (decided !== undefined && decided.term !== term) {
      this.report('state-machine-safety', `node ${node} holds snapshot ${index}/t${term}, but ${index}/t${decided.term} was committed there`);
    }
  }
}
