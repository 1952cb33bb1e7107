/**
 * A node as the api layer sees it, in narrow views: each REST route, gRPC service and
 * dashboard feed takes the views it uses and nothing more, so what a handler can do
 * to the node is visible in its signature. KeelNode implements them all.
 */
import type { LogIndex, NodeId } from '../raft/index.js';
import type {
  AlarmMember,
  AlarmType,
  ClientSession,
  CommandAuth,
  CommandBody,
  CommandResult,
  EnvSizes,
  HistoryRequest,
  HistoryResponse,
  KvHash,
  KvResult,
  MemberList,
  RangeRequest,
  ReadResponse,
} from '../kv/index.js';
import type {
  Consistency,
  LogTailEntry,
  MemberAddRequest,
  MembershipResult,
  MessageListener,
  NodeConfig,
  NodeLeases,
  ReplicaCounters,
  ReplicaStatus,
  StreamOutput,
  WatchSession,
  WatchSessionOptions,
} from '../replica/index.js';
import type { FaultyDisk } from '../storage/index.js';
import type { FaultHooks, TransportStats } from '../transport/index.js';
import type { FetchFunction } from '../tls/index.js';
import type { NodeAuth } from './auth/node-auth.js';

/** Who the node is and where it stands: what every answer's header carries. */
export interface NodeIdentity {
  readonly config: NodeConfig;
  status(): ReplicaStatus;
  /** The store's revision and the Raft term, for the header of every etcd answer: without the rest of status()'s work. */
  headerState(): { readonly revision: number; readonly term: number };
}

/** etcd's auth: users, roles, logins and the permission check of every request. */
export interface AuthNode extends NodeIdentity {
  readonly auth: NodeAuth;
}

/** The key-value service: reads, writes, history, watches and leases, each checked by `auth`. */
export interface KeyValueNode extends AuthNode {
  readonly leases: NodeLeases;
  write(body: CommandBody, session?: ClientSession, auth?: CommandAuth): Promise<CommandResult>;
  read(request: RangeRequest, consistency: Consistency): Promise<KvResult<ReadResponse>>;
  history(request: HistoryRequest, consistency: Consistency): Promise<KvResult<HistoryResponse>>;
  openWatchSession(output: StreamOutput, refusal?: WatchSessionOptions['refusal']): WatchSession;
}

/** Cluster membership: the member list and etcd's member changes. */
export interface MembershipNode extends NodeIdentity {
  /** Calls to other members' client ports (a change forwarded to the leader). */
  readonly memberFetch: FetchFunction;
  memberList(): MemberList;
  addMember(request: MemberAddRequest): Promise<MembershipResult>;
  removeMember(id: NodeId): Promise<MembershipResult>;
  promoteMember(id: NodeId): Promise<MembershipResult>;
  updateMember(id: NodeId, peerUrls: readonly string[]): Promise<MembershipResult>;
}

/** Maintenance: alarms, defragmentation, hashes, snapshots, leadership moves. */
export interface MaintenanceNode extends AuthNode {
  storageSizes(): EnvSizes & { readonly quotaBackendBytes: number };
  alarms(): readonly AlarmMember[];
  setAlarm(action: 'activate' | 'deactivate', memberId: number, alarm: AlarmType): Promise<CommandResult>;
  hashKv(revision: number): Promise<KvResult<KvHash & { readonly currentRevision: number }>>;
  snapshot(): Promise<{ readonly index: LogIndex; readonly revision: number; readonly data: Uint8Array }>;
  etcdSnapshot(): Promise<{ readonly revision: number; readonly data: Uint8Array }>;
  defragment(): Promise<{ readonly beforeBytes: number; readonly afterBytes: number }>;
  /** etcd's MoveLeader: resolves once `to` leads. */
  moveLeader(to: NodeId, timeoutMs: number): Promise<void>;
  /** Starts a leadership transfer and returns at once (the dashboard's button). */
  transferLeadership(to: NodeId): void;
}

/** What the dashboard, /status and /metrics watch: counters, the log's tail, messages, faults. */
export interface ObservedNode extends NodeIdentity {
  readonly counters: ReplicaCounters;
  storageSizes(): EnvSizes & { readonly quotaBackendBytes: number };
  memberList(): MemberList;
  logTail(count: number): LogTailEntry[];
  observeMessages(listener: MessageListener): () => void;
  transportStats(): TransportStats;
  /** Network fault hooks, on a node started with fault injection. */
  readonly faults: FaultHooks | undefined;
  /** Disk fault hooks, on a node started with fault injection. */
  readonly disk: FaultyDisk | undefined;
}

/** Every view: what the servers that build the routes are given. */
export type ApiNode = KeyValueNode & MembershipNode & MaintenanceNode & ObservedNode;
