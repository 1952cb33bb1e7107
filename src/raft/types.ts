/**
 * The plain data the consensus core takes in and hands out. Everything here is
 * serializable (numbers, strings, booleans, Uint8Array, arrays of those), so the
 * transport can encode it and the simulator can copy it.
 */

/** A member's id. 0 means "none" (no leader known, no vote cast). */
import type { TermRuns } from './term-runs.js';

export type NodeId = number;
/** A Raft term (§5.1). Starts at 0, only ever increases on a node. */
export type Term = number;
/** A position in the replicated log, from 1. 0 means "before the first entry". */
export type LogIndex = number;

export const NO_NODE: NodeId = 0;

export type EntryKind = 'normal' | 'config';

/**
 * A log entry. `normal` entries carry the state machine's command bytes (empty for
 * the leader's no-op at the start of its term, §5.4.2 / thesis §6.4). `config`
 * entries carry an encoded `ConfigChange` and the configuration it results in
 * (see config.ts).
 */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log (Figure 2, "Persistent state"). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
}

/** The members of the cluster. Voters elect and commit; learners only receive the log. */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type ConfigChangeType = 'addVoter' | 'addLearner' | 'promoteLearner' | 'removeNode';

/** One single-server membership change (thesis §4.1). */
export interface ConfigChange {
  readonly type: ConfigChangeType;
  readonly nodeId: NodeId;
  /** Opaque to the core, replicated with the change: the runtime's member metadata
   * (addresses, name), like the context of an etcd ConfChange. */
  readonly context?: string;
}

/** Describes a snapshot: the state machine after applying every entry up to `index`. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly config: ClusterConfig;
}

/**
 * A snapshot's bytes as the core needs them: their size, and a chunk at a time to send
 * (§7, Figure 13). A Uint8Array is one; the node runtime gives the core a snapshot file
 * read on demand instead, so that a snapshot of hundreds of MB is never held in memory
 * by a leader only to be sent.
 */
export interface SnapshotData {
  readonly byteLength: number;
  /** The bytes in [begin, end), end clamped to byteLength. */
  subarray(begin: number, end: number): Uint8Array;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: SnapshotData;
}

/** A chunk of a snapshot a follower receives (InstallSnapshot, Figure 13), for the runtime to store. */
export interface ReceivedSnapshotChunk {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  /** The snapshot's last chunk. */
  readonly done: boolean;
}

/** What the runtime found when it checked a snapshot it received: its stored bytes, or what is wrong with it. */
export type ReceivedSnapshot = { readonly ok: true; readonly data: SnapshotData } | { readonly ok: false; readonly problem: string };

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state worth telling the runtime about when it changes. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
  readonly term: Term;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly readId: string;
  readonly index: LogIndex;
}

// ---------------------------------------------------------------------------
// Messages between nodes. Every message carries the sender's term (§5.1); the
// shared term check in RaftNode.step handles them before any role-specific step.
// ---------------------------------------------------------------------------

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** RequestVote (§5.2), or its pre-vote twin (thesis §9.6) sent with term+1 without
 * the sender having incremented its term. `transfer` marks an election started by
 * TimeoutNow (thesis §3.10), which voters honour even while they hear a leader. */
export interface VoteRequest extends Envelope {
  readonly type: 'vote' | 'preVote';
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly granted: boolean;
}

/** AppendEntries (§5.3). */
export interface AppendRequest extends Envelope {
  readonly type: 'append';
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
  /**
   * Set on an append with no entries that a leader sends a follower in replicate state
   * only to carry a new commit index. The follower answers it only if it rejects it: a
   * success would tell the leader nothing (the appends that carried the entries are
   * answered themselves), and leaving it unanswered saves a message each way per commit.
   */
  readonly commitOnly?: true;
}

/**
 * On success `index` is the last index the follower now knows matches the leader.
 * On rejection `index` is the rejected `prevIndex`, and (`hintIndex`, `hintTerm`)
 * name the follower's last entry that could still match, for fast backtracking
 * (§5.3, "the follower can include the term of the conflicting entry").
 */
export interface AppendResponse extends Envelope {
  readonly type: 'appendResponse';
  readonly success: boolean;
  readonly index: LogIndex;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}

/** Heartbeats carry no entries. `commit` is capped by what the follower is known to
 * hold, so a follower never commits an entry it has not verified. `seq` numbers the
 * leader's heartbeat rounds: a follower's answer to round `seq` confirms the leader
 * was still leader when the round started, which releases ReadIndex requests queued
 * before it (thesis §6.4). */
export interface HeartbeatRequest extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: LogIndex;
  readonly seq: number;
}

/** `lastIndex` lets the leader notice that appends it sent before round `seq` were lost. */
export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeatResponse';
  readonly seq: number;
  readonly lastIndex: LogIndex;
}

/** InstallSnapshot (§7, Figure 13): one chunk of the snapshot at `offset`. */
export interface SnapshotRequest extends Envelope {
  readonly type: 'snapshot';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

/** `nextOffset` is the byte the follower wants next; `done` once it installed it. */
export interface SnapshotResponse extends Envelope {
  readonly type: 'snapshotResponse';
  readonly snapshotIndex: LogIndex;
  readonly nextOffset: number;
  readonly done: boolean;
}

/** Leadership transfer (thesis §3.10): start an election now. */
export interface TimeoutNowRequest extends Envelope {
  readonly type: 'timeoutNow';
}

/** A follower asks the leader for a read index on behalf of its client (thesis §6.4). */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'readIndex';
  readonly readId: string;
}

export interface ReadIndexResponse extends Envelope {
  readonly type: 'readIndexResponse';
  readonly readId: string;
  readonly index: LogIndex;
}

/** A follower forwards a client's command to the leader. */
export interface ProposeRequest extends Envelope {
  readonly type: 'propose';
  readonly data: Uint8Array;
}

/**
 * Runtime messages: the transport carries them between peers with the rest, but the
 * core never steps them (step() refuses them); the runtime takes them out first. A
 * client's lease keep-alive that reaches a follower is renewed in the leader's memory,
 * as etcd's followers forward LeaseKeepAlive to the leader, rather than through a log
 * entry each member writes (replica/lease-forwarding.ts). They carry term 0: they
 * promise nothing about the sender's Raft state.
 */
export interface LeaseRenewRequest extends Envelope {
  readonly type: 'leaseRenew';
  /** The follower's name for this request, echoed in the answer. */
  readonly renewId: string;
  readonly lease: number;
}

/** `ttl` 0: not renewed here (no longer leader, or the lease's expiry is under way): the follower goes through the log. */
export interface LeaseRenewResponse extends Envelope {
  readonly type: 'leaseRenewResponse';
  readonly renewId: string;
  readonly ttl: number;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | SnapshotResponse
  | TimeoutNowRequest
  | ReadIndexRequest
  | ReadIndexResponse
  | ProposeRequest
  | LeaseRenewRequest
  | LeaseRenewResponse;

export type MessageType = Message['type'];

/** A stable number per message type: the transport's wire tag, and what traces and
 * fingerprints record. Never renumber one: peers of different versions must agree. */
export const messageTypeNumbers: Readonly<Record<MessageType, number>> = {
  vote: 1,
  preVote: 2,
  voteResponse: 3,
  preVoteResponse: 4,
  append: 5,
  appendResponse: 6,
  heartbeat: 7,
  heartbeatResponse: 8,
  snapshot: 9,
  snapshotResponse: 10,
  timeoutNow: 11,
  readIndex: 12,
  readIndexResponse: 13,
  propose: 14,
  leaseRenew: 15,
  leaseRenewResponse: 16,
};

/**
 * What the core asks the runtime to do. ready() counts it as handed out, and the
 * runtime reports its two parts done separately, so they can overlap (a pipeline,
 * thesis §10.2.1):
 *   - persist: write `snapshotChunks`, `snapshot` (if any), `entries` (overwriting the
 *     log from entries[0].index on) and `hardState` (if any), and fsync them, in the
 *     order the Readys were handed out; then call `persisted(ready)`. A snapshot
 *     chunk is written at its offset into the incoming snapshot it names (offset 0
 *     starts that one afresh and drops any other); only its last chunk (`done`) must
 *     be durable, as a restarted node starts a transfer over. Once a last chunk is,
 *     the runtime checks the whole snapshot (without holding it in memory) and calls
 *     `snapshotReceived`; the core then installs it, with its bytes as the runtime
 *     stored them, through a later Ready's `snapshot`. Messages that promise
 *     something about this node's disk (votes, vote requests, every acknowledgement:
 *     Figure 2) leave only once this Ready and every earlier one are durable; a
 *     leader's appends and heartbeats, and forwarded requests, may leave at once.
 *   - apply: install `snapshot` in the state machine once it is durable, apply
 *     `committedEntries` in order (a core created `pipelined` hands out only
 *     entries already durable here, so this never waits for a write in flight), serve `readStates` once
 *     applied; then call `applied(ready)`.
 * A runtime that does one Ready at a time persists, sends, applies, then calls
 * `advance(ready)` (both reports at once).
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  /** Chunks of a snapshot being received from the leader, in order (see below). */
  readonly snapshotChunks: readonly ReceivedSnapshotChunk[];
  readonly snapshot: Snapshot | undefined;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/**
 * step()'s answer to a message that no correct member could send (a second leader in
 * one term, a commit index past this node's log, entries that contradict committed
 * ones...). The core drops it without changing any state; the runtime should drop
 * the connection it came on and log the sender. Such a message comes from a faulty
 * or hostile peer, never from the network losing, duplicating or reordering messages.
 */
export interface ImpossibleMessage {
  readonly code: 'IMPOSSIBLE_MESSAGE';
  readonly reason: string;
}

/** Why the core refused a request. Stable codes: callers branch on them. */
export type RefusalReason =
  | 'NOT_LEADER'
  | 'NO_LEADER'
  | 'TRANSFERRING'
  | 'UNCOMMITTED_BYTES_LIMIT'
  | 'ENTRY_TOO_LARGE'
  | 'CONFIG_CHANGE_PENDING'
  | 'NOT_COMMITTED_IN_TERM'
  | 'INVALID_CONFIG_CHANGE'
  | 'NOT_A_VOTER'
  | 'READ_QUEUE_FULL';

export type Outcome<T> =
  | ({ readonly ok: true } & T)
  | { readonly ok: false; readonly reason: RefusalReason; readonly message: string; readonly leader: NodeId };

/**
 * Limits, each with its unit last in its name. Ticks are the only clock the core
 * knows; the runtime decides how long a tick is.
 */
export interface RaftConfig {
  readonly id: NodeId;
  /** A follower that hears no leader for a random time in
   * [electionTicks, 2 * electionTicks) starts an election (§5.2). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly entriesPerMessageMax: number;
  readonly bytesPerMessageMax: number;
  readonly inflightMessagesMax: number;
  /** Entry bytes in unacknowledged appends to one follower: with large entries the
   * message count alone would let tens of MiB queue ahead of a heartbeat. */
  readonly inflightBytesMax: number;
  readonly uncommittedBytesMax: number;
  readonly snapshotChunkBytesMax: number;
  /**
   * Entries kept in the log before a snapshot's index when the log is compacted to it,
   * up to snapshotCatchUpBytesMax of them: a follower only a little behind is then
   * caught up from the log, not sent the whole snapshot (etcd keeps 5,000). 0: none,
   * the log starts right after the snapshot (§7).
   */
  readonly snapshotCatchUpEntries: number;
  readonly snapshotCatchUpBytesMax: number;
  /** Bytes of committed entries handed out in one Ready (at least one entry). */
  readonly committedBytesPerReadyMax: number;
  /** A single proposal larger than this is refused. */
  readonly entryBytesMax: number;
  /**
   * Bytes of applied entries the log keeps in memory; older ones are released and read
   * back through the LogReader when needed. Without a reader every entry stays in memory.
   */
  readonly logMemoryBytesMax: number;
  /** ReadIndex requests a leader holds while waiting for a heartbeat round. */
  readonly pendingReadsMax: number;
}

export const defaultRaftConfig: Omit<RaftConfig, 'id'> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  entriesPerMessageMax: 256,
  bytesPerMessageMax: 1024 * 1024,
  inflightMessagesMax: 64,
  inflightBytesMax: 8 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  snapshotChunkBytesMax: 512 * 1024,
  snapshotCatchUpEntries: 0,
  snapshotCatchUpBytesMax: 0,
  committedBytesPerReadyMax: 4 * 1024 * 1024,
  entryBytesMax: 2 * 1024 * 1024,
  logMemoryBytesMax: 16 * 1024 * 1024,
  pendingReadsMax: 4096,
};

/** What a node finds on its disk when it starts (all empty for a brand-new node). */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  /**
   * Entries right after the snapshot that stay on disk, read back through the
   * node's LogReader when needed: their terms, and those of them that change the
   * configuration. All committed. Absent: none.
   */
  readonly onDisk?: { readonly terms: TermRuns; readonly configEntries: readonly Entry[] };
  /** The log after the snapshot and `onDisk`, contiguous from the index after them. */
  readonly entries: readonly Entry[];
}

/**
 * Reads entries the log no longer holds in memory (committed, applied and durable:
 * RaftLog.release) back from the runtime's storage, synchronously: the core is a
 * state machine without I/O of its own, and such reads are rare (a follower far
 * behind, a restart) and mostly served from the page cache.
 */
export interface LogReader {
  /** Entries [low, high), within the limits but always at least one. */
  read(low: LogIndex, high: LogIndex, limits: { readonly bytesMax: number; readonly countMax: number }): Entry[];
}

/** A source of randomness; `int(n)` returns an integer in [0, n). */
export interface RandomSource {
  int(bound: number): number;
}
