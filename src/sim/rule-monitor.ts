import type { Entry, HardState, LogIndex, Message, NodeId, Role, Snapshot, SnapshotMeta, Term } from '../raft/index.js';
import { DurableLog } from './durable-log.js';

/** What may move a follower's commit index: a message stepped, or a snapshot its runtime received whole. */
type CommitCause = Message | { readonly kind: 'snapshotReceived'; readonly meta: SnapshotMeta };

/** The rules this monitor checks; each names the section of the Raft paper or
 * thesis it comes from (see docs/internals/simulator.md). */
export type RuleKind =
  | 'commit-own-term' // a leader advanced its commit index to an entry of an earlier term (§5.4.2, Figure 8)
  | 'quorum-durability' // a leader counted a copy that is not durable (Figure 2, thesis §10.2.1)
  | 'vote-quorum' // a leader without durable votes from a majority of its term (§5.2)
  | 'config-change-safety' // two uncommitted configuration entries, or one before the first own-term commit (thesis §4.1)
  | 'read-index-stale' // a read released below a commit index known when it was invoked (thesis §6.4)
  | 'read-index-own-term' // a leader released a read before committing an entry of its term (thesis §6.4 step 1)
  | 'read-index-confirmation' // a leader released a read without a majority heard from since it was invoked (thesis §6.4 steps 3-4)
  | 'follower-commit' // a follower committed past the entries it verified against its leader (Figure 2, AppendEntries step 5)
  | 'check-quorum'; // a leader cut off from a majority kept leading past the check-quorum bound (thesis §6.2)

/** The part of a core's status the rules read (RaftNode.status() provides it). */
export interface RuleStatus {
  readonly role: Role;
  readonly term: Term;
  readonly commit: LogIndex;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly config: { readonly voters: readonly NodeId[] };
  /** A leader's replication progress, its own entry included (empty otherwise). */
  readonly peers: readonly { readonly id: NodeId; readonly match: LogIndex }[];
}

/** A core's log, entries on disk read back (RaftNode.entriesFrom). */
export interface LogView {
  entriesFrom(low: LogIndex): readonly Entry[];
}

export interface RuleMonitorOptions {
  /** The cores' check-quorum period in ticks, or undefined when check-quorum is off. */
  readonly checkQuorumElectionTicks: number | undefined;
}

/** What the monitor remembers of a node while it leads one term. */
interface Leadership {
  readonly term: Term;
  /** The first entry of its term in its log (its no-op, §5.4.2). */
  readonly firstOwnIndex: LogIndex;
  /** The newest configuration entry in its log (0: none after its commit index at election). */
  lastConfigIndex: LogIndex;
  lastIndex: LogIndex;
  commit: LogIndex;
  voters: readonly NodeId[];
  /** The voters before the latest change in this leadership (a read confirmed just
   * before a change is released just after it). */
  previousVoters: readonly NodeId[];
  /** The node's tick count when it last heard from each voter in this term. */
  readonly heardAtTick: Map<NodeId, number>;
  /** The newest step at which each voter sent something of this term it delivered. */
  readonly heardSentAtStep: Map<NodeId, number>;
  /** Reported once per term. */
  checkQuorumReported: boolean;
}

const sameMembers = (a: readonly NodeId[], b: readonly NodeId[]): boolean => a.length === b.length && a.every((id) => b.includes(id));
const quorumOf = (count: number): number => Math.floor(count / 2) + 1;

/**
 * Checks Raft's rules directly, not only their consequences: each check fires at the
 * moment a core breaks a rule, whether or not the faults of the run go on to turn it
 * into a visible safety violation. It is fed by narrow reports from a host (the core
 * after each input, "this node durably persisted X", "this message was sent or
 * delivered", "this read was invoked or released", "this node ticked"), so it holds
 * whatever Ready loop the host runs.
 */
export class RuleMonitor {
  private readonly durable = new Map<NodeId, DurableLog>();
  /** Votes that reached a disk, by term: voter -> candidate. */
  private readonly durableVotes = new Map<Term, Map<NodeId, NodeId>>();
  /** The term on each node's disk. */
  private readonly durableTerms = new Map<NodeId, Term>();
  private readonly leaderships = new Map<NodeId, Leadership>();
  private readonly ticks = new Map<NodeId, number>();
  /** Each node's commit index at its last observation, and the message stepped since. */
  private readonly commits = new Map<NodeId, LogIndex>();
  private readonly stepped = new Map<NodeId, CommitCause>();
  /** The highest commit index any node has had so far. */
  private commitMax: LogIndex = 0;
  /** ReadIndex requests in flight: the commit index floor each must reach, and the
   * term of the node's leadership when it was invoked there (0: not leader). */
  private readonly readsInFlight = new Map<string, { readonly floor: LogIndex; readonly leaderTerm: Term; readonly invokedAtStep: number }>();
  /** The step each response was sent at (duplicates and replays are the same object). */
  private readonly sentAtStep = new WeakMap<Message, number>();
  /** Availability: the last step some leader had heard from a majority recently, and
   * the longest stretch without one. */
  private lastCapableLeaderStep = 0;
  private leaderlessStepsMax = 0;

  constructor(
    private readonly options: RuleMonitorOptions,
    private readonly report: (kind: RuleKind, message: string) => void,
    /** The current simulation step. */
    private readonly clock: () => number,
  ) {}

  /** The longest stretch of steps (up to `now`) without a leader in touch with a majority. */
  longestLeaderlessSteps(now: number): number {
    return Math.max(this.leaderlessStepsMax, now - this.lastCapableLeaderStep);
  }

  /** After every input to a node's core. */
  observe(node: NodeId, status: RuleStatus, core: LogView): void {
    if (status.commit > this.commitMax) this.commitMax = status.commit;
    const previousCommit = this.commits.get(node);
    const message = this.stepped.get(node);
    this.stepped.delete(node);
    this.commits.set(node, status.commit);
    if (status.role !== 'leader') {
      // A leader that steps down in this input (removed, its change committed) may
      // have advanced its commit index as leader.
      if (previousCommit !== undefined && status.commit > previousCommit && !this.leaderships.has(node)) {
        this.followerCommitted(node, previousCommit, status.commit, message);
      }
      this.leaderships.delete(node);
      return;
    }
    const known = this.leaderships.get(node);
    if (known === undefined || known.term !== status.term) {
      this.becameLeader(node, status, core);
      return;
    }
    if (status.lastIndex > known.lastIndex) this.appended(node, known, core.entriesFrom(known.lastIndex + 1));
    if (status.commit > known.commit) this.leaderCommitted(node, known, status, core);
    known.lastIndex = status.lastIndex;
    known.commit = status.commit;
    if (!sameMembers(known.voters, status.config.voters)) {
      // The check-quorum bound starts again with a new configuration: the core counts
      // the new majority from its next check on.
      const tick = this.ticks.get(node) ?? 0;
      for (const voter of status.config.voters) known.heardAtTick.set(voter, tick);
      known.previousVoters = known.voters;
      known.voters = status.config.voters;
    }
  }

  /** A node came back from its disk: it leads nothing. */
  restarted(node: NodeId): void {
    this.leaderships.delete(node);
    this.commits.delete(node);
    this.stepped.delete(node);
  }

  /** `message` is about to be stepped into `node`'s core. */
  stepping(node: NodeId, message: Message): void {
    this.stepped.set(node, message);
  }

  /** `node`'s runtime is about to report a snapshot it received whole to its core, which installs it. */
  snapshotReceived(node: NodeId, meta: SnapshotMeta): void {
    this.stepped.set(node, { kind: 'snapshotReceived', meta });
  }

  /**
   * Figure 2, AppendEntries step 5: a follower sets its commit index to
   * min(leaderCommit, index of last new entry), never past what this append verified
   * (what follows may still conflict); a heartbeat's commit the leader caps at what it
   * knows the follower holds; a snapshot, once received whole (snapshotReceived),
   * commits up to its own index. Nothing else moves a follower's commit index.
   */
  private followerCommitted(node: NodeId, from: LogIndex, to: LogIndex, cause: CommitCause | undefined): void {
    let bound = from;
    if (cause !== undefined && 'kind' in cause) bound = cause.meta.index;
    else if (cause?.type === 'append') bound = Math.min(cause.commit, cause.prevIndex + cause.entries.length);
    else if (cause?.type === 'heartbeat') bound = cause.commit;
    if (to <= bound) return;
    const what =
      cause === undefined
        ? 'no message'
        : 'kind' in cause
          ? `snapshot ${cause.meta.index} received whole`
          : cause.type === 'append'
            ? `an append of ${cause.prevIndex + 1}..${cause.prevIndex + cause.entries.length} with commit ${cause.commit}`
            : `a ${cause.type} from node ${cause.from}`;
    this.report(
      'follower-commit',
      `node ${node} advanced its commit index from ${from} to ${to} on ${what} (Figure 2: a follower commits only up to min(leaderCommit, index of last new entry), entries it has verified)`,
    );
  }

  /** A write reached the node's disk (fsynced): `hardState` is what the disk holds now. */
  persisted(node: NodeId, entries: readonly Entry[], snapshot: Snapshot | undefined, hardState: HardState): void {
    const log = this.durableLog(node);
    if (snapshot !== undefined) log.installed(snapshot.meta.index);
    log.wrote(entries);
    this.durableTerms.set(node, hardState.term);
    if (hardState.vote !== 0) {
      let votes = this.durableVotes.get(hardState.term);
      if (votes === undefined) {
        votes = new Map();
        this.durableVotes.set(hardState.term, votes);
      }
      votes.set(node, hardState.vote);
    }
  }

  /** The node compacted its log into a snapshot of its own state machine. */
  compacted(node: NodeId, index: LogIndex): void {
    this.durableLog(node).compacted(index);
  }

  /** A message left a node. */
  sent(message: Message): void {
    // Only answers confirm a leader's reads; the others need no send step.
    if (message.type.endsWith('Response')) this.sentAtStep.set(message, this.clock());
    if (message.type !== 'readIndexResponse') return;
    const leadership = this.leaderships.get(message.from);
    if (leadership === undefined || leadership.term !== message.term) return;
    this.checkReadOwnTerm(message.from, leadership, message.index);
    const read = this.readsInFlight.get(message.readId);
    if (read !== undefined) this.checkReadConfirmed(message.from, leadership, message.readId, read.invokedAtStep);
  }

  /** A message reached its destination's core: a leader hears from a voter. */
  delivered(message: Message): void {
    const leadership = this.leaderships.get(message.to);
    if (leadership === undefined || message.term !== leadership.term) return;
    leadership.heardAtTick.set(message.from, this.ticks.get(message.to) ?? 0);
    const sentAt = this.sentAtStep.get(message);
    if (sentAt !== undefined && sentAt > (leadership.heardSentAtStep.get(message.from) ?? -1)) leadership.heardSentAtStep.set(message.from, sentAt);
  }

  /** A client's ReadIndex request reached a node's core. */
  readInvoked(node: NodeId, readId: string): void {
    this.readsInFlight.set(readId, { floor: this.commitMax, leaderTerm: this.leaderships.get(node)?.term ?? 0, invokedAtStep: this.clock() });
  }

  /** A node's core released a read at `index` to its state machine. */
  readReleased(node: NodeId, readId: string, index: LogIndex): void {
    const read = this.readsInFlight.get(readId);
    if (read === undefined) return;
    this.readsInFlight.delete(readId);
    if (index < read.floor) {
      this.report(
        'read-index-stale',
        `node ${node} released read ${readId} at index ${index}, but commit index ${read.floor} was known when the read was invoked: it may miss a committed write (thesis §6.4: the read index is the leader's commit index once it has confirmed it still leads)`,
      );
    }
    // A read the node took as leader and releases in that same leadership.
    const leadership = this.leaderships.get(node);
    if (leadership !== undefined && leadership.term === read.leaderTerm) {
      this.checkReadOwnTerm(node, leadership, index);
      this.checkReadConfirmed(node, leadership, readId, read.invokedAtStep);
    }
  }

  /**
   * Thesis §6.4 steps 3-4: a leader serves a read only once a majority has shown it was
   * still leader after the read was invoked. A voter that sent the leader anything of
   * its term after that step had not yet moved to a newer term, so a majority of them
   * rules out a newer leader at the invocation (any newer leader's majority overlaps it).
   */
  private checkReadConfirmed(node: NodeId, leadership: Leadership, readId: string, invokedAtStep: number): void {
    const confirmedBy = (voters: readonly NodeId[]): boolean =>
      voters.filter((voter) => voter === node || (leadership.heardSentAtStep.get(voter) ?? -1) >= invokedAtStep).length >= quorumOf(voters.length);
    if (confirmedBy(leadership.voters) || confirmedBy(leadership.previousVoters)) return;
    const heard = leadership.voters.filter((voter) => voter !== node).map((voter) => `n${voter}@${leadership.heardSentAtStep.get(voter) ?? 'never'}`);
    this.report(
      'read-index-confirmation',
      `node ${node}, leader of term ${leadership.term}, released read ${readId} invoked at step ${invokedAtStep}, but has heard from no majority since (newest message sent by ${heard.join(' ')}; thesis §6.4: the leader confirms it still leads with a round of heartbeats started after the read)`,
    );
  }

  /** The node's core ticked at step `now`: check-quorum and availability. */
  ticked(node: NodeId, now: number): void {
    const tick = (this.ticks.get(node) ?? 0) + 1;
    this.ticks.set(node, tick);
    const leadership = this.leaderships.get(node);
    if (leadership === undefined) {
      if (this.leaderships.size === 0) this.leaderlessStepsMax = Math.max(this.leaderlessStepsMax, now - this.lastCapableLeaderStep);
      return;
    }
    const electionTicks = this.options.checkQuorumElectionTicks;
    const recentTicks = electionTicks ?? 10;
    if (this.heardFromQuorum(node, leadership, tick, recentTicks)) this.lastCapableLeaderStep = now;
    else this.leaderlessStepsMax = Math.max(this.leaderlessStepsMax, now - this.lastCapableLeaderStep);
    // The core checks its quorum every electionTicks and forgets who it heard from at
    // each check, so a leader that last heard from a majority at tick k steps down by
    // tick k + 2 * electionTicks.
    if (electionTicks === undefined || leadership.checkQuorumReported) return;
    if (!this.heardFromQuorum(node, leadership, tick, 2 * electionTicks)) {
      leadership.checkQuorumReported = true;
      this.report(
        'check-quorum',
        `node ${node}, leader of term ${leadership.term}, heard from no majority of voters [${leadership.voters.join(',')}] for more than ${2 * electionTicks} ticks and still leads (thesis §6.2: check-quorum steps a cut-off leader down within an election timeout)`,
      );
    }
  }

  private heardFromQuorum(node: NodeId, leadership: Leadership, tick: number, withinTicks: number): boolean {
    let heard = 0;
    for (const voter of leadership.voters) {
      if (voter === node || tick - (leadership.heardAtTick.get(voter) ?? -Infinity) <= withinTicks) heard += 1;
    }
    return heard >= quorumOf(leadership.voters.length);
  }

  private becameLeader(node: NodeId, status: RuleStatus, core: LogView): void {
    const { term } = status;
    const voters = status.config.voters;
    // §5.2: a candidate wins with votes from a majority of the voters in its term,
    // and a vote counts only once the voter's disk backs it (Figure 2): it holds the
    // vote, or (the voter moved on before writing it) a later term, which rules out
    // another vote in this one.
    const votes = this.durableVotes.get(term);
    const granted = voters.filter((voter) => {
      const vote = votes?.get(voter);
      return vote === node || (vote === undefined && (this.durableTerms.get(voter) ?? 0) > term);
    });
    if (granted.length < quorumOf(voters.length)) {
      this.report(
        'vote-quorum',
        `node ${node} became leader of term ${term} with votes backed by the disks of only [${granted.join(',')}] of voters [${voters.join(',')}] (§5.2: a majority must have voted for it, each vote on disk before it counts)`,
      );
    }
    let firstOwnIndex = status.lastIndex + 1;
    let lastConfigIndex = 0;
    // The uncommitted tail, and the committed entry before it (hand-made traces may
    // start a leader whose commit index already reaches its term).
    const tail = core.entriesFrom(Math.max(status.firstIndex, Math.min(status.commit, status.lastIndex)));
    for (let i = tail.length - 1; i >= 0 && (tail[i] as Entry).term === term; i--) firstOwnIndex = (tail[i] as Entry).index;
    for (const entry of tail) if (entry.kind === 'config' && entry.index > status.commit) lastConfigIndex = entry.index;
    const tick = this.ticks.get(node) ?? 0;
    this.leaderships.set(node, {
      term,
      firstOwnIndex,
      lastConfigIndex,
      lastIndex: status.lastIndex,
      commit: status.commit,
      voters,
      previousVoters: voters,
      heardAtTick: new Map(voters.map((voter) => [voter, tick])),
      heardSentAtStep: new Map(),
      checkQuorumReported: false,
    });
  }

  /** The leader appended entries of its own: configuration changes obey thesis §4.1. */
  private appended(node: NodeId, leadership: Leadership, entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.kind !== 'config') continue;
      if (leadership.commit < leadership.firstOwnIndex) {
        this.report(
          'config-change-safety',
          `node ${node}, leader of term ${leadership.term}, appended a configuration entry at ${entry.index} before committing an entry of its term (its commit index ${leadership.commit}, its first entry of the term ${leadership.firstOwnIndex}; thesis §4.1 with the fix to single-server changes: a leader changes membership only after its first commit)`,
        );
        return;
      }
      if (leadership.lastConfigIndex > leadership.commit) {
        this.report(
          'config-change-safety',
          `node ${node}, leader of term ${leadership.term}, appended a configuration entry at ${entry.index} while the one at ${leadership.lastConfigIndex} is not committed (its commit index ${leadership.commit}; thesis §4.1: one membership change at a time)`,
        );
        return;
      }
      leadership.lastConfigIndex = entry.index;
    }
  }

  private leaderCommitted(node: NodeId, leadership: Leadership, status: RuleStatus, core: LogView): void {
    const index = status.commit;
    const entry = core.entriesFrom(index)[0];
    if (entry !== undefined && entry.term !== leadership.term) {
      this.report(
        'commit-own-term',
        `node ${node}, leader of term ${leadership.term}, advanced its commit index to ${index}, an entry of term ${entry.term} (§5.4.2, Figure 8: a leader commits only entries of its own term by counting replicas)`,
      );
    }
    const term = entry?.term ?? leadership.term;
    // A configuration entry appended in the same input as the commit (the member API
    // proposes its change as soon as the entry before it applies) may have changed the
    // voters after the commit was counted: the voters before the input count as well.
    const configs = sameMembers(leadership.voters, status.config.voters) ? [status.config.voters] : [status.config.voters, leadership.voters];
    const durableCopiesIn = (voters: readonly NodeId[]): number => voters.filter((voter) => this.durableLog(voter).holds(index, term)).length;
    for (const peer of status.peers) {
      if (peer.match >= index && configs.some((voters) => voters.includes(peer.id)) && !this.durableLog(peer.id).holds(index, term)) {
        const whose = peer.id === node ? 'its own copy' : `node ${peer.id}'s copy`;
        this.report(
          'quorum-durability',
          `node ${node}, leader of term ${leadership.term}, committed ${index} counting ${whose}, which is not on that node's disk (Figure 2, thesis §10.2.1: a copy counts toward a majority only once it is durable)`,
        );
        return;
      }
    }
    if (configs.every((voters) => durableCopiesIn(voters) < quorumOf(voters.length))) {
      const voters = status.config.voters;
      this.report(
        'quorum-durability',
        `node ${node}, leader of term ${leadership.term}, committed ${index}, durable on only ${durableCopiesIn(voters)} of voters [${voters.join(',')}] (§5.3: an entry is committed once stored on a majority)`,
      );
    }
  }

  private checkReadOwnTerm(node: NodeId, leadership: Leadership, index: LogIndex): void {
    if (index >= leadership.firstOwnIndex) return;
    this.report(
      'read-index-own-term',
      `node ${node}, leader of term ${leadership.term}, released a read at index ${index} before committing an entry of its term (its first at ${leadership.firstOwnIndex}; thesis §6.4 step 1)`,
    );
  }

  private durableLog(node: NodeId): DurableLog {
    let log = this.durable.get(node);
    if (log === undefined) {
      log = new DurableLog();
      this.durable.set(node, log);
    }
    return log;
  }
}
