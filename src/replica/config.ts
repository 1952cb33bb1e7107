/**
 * A node's configuration: who it is, who its peers are, where it keeps data, and the
 * limits it enforces. Loaded by the CLI from flags, KEEL_* variables or YAML.
 */
import type { NodeId } from '../raft/index.js';

export interface MemberAddress {
  readonly id: NodeId;
  /** etcd's member name (--name, --initial-cluster); node<id> when not given. */
  readonly name?: string;
  /** Host for the peer (Raft) port and the client port(s). */
  readonly host: string;
  readonly peerPort: number;
  /** Serves every client protocol: HTTP/1.1 (REST, gateway, dashboard, WebSocket) and gRPC (api/client-port.ts). */
  readonly clientPort: number;
  /** An optional second client port, serving the same; etcd clients are given it (MemberList's clientURLs). */
  readonly grpcPort?: number;
}

export interface NodeConfig {
  readonly id: NodeId;
  /** Peers refuse messages from another cluster. */
  readonly clusterId: string;
  /** Every member of the initial cluster, this node included; for a node that joins, the
   * current members and itself (where to reach them until it has the replicated list). */
  readonly members: readonly MemberAddress[];
  /** This node joins an existing cluster (added with `keel member add` first): it
   * bootstraps no configuration and learns everything from the leader. */
  readonly join: boolean;
  /** Where this node keeps its WAL, snapshots and key-value store. */
  readonly dataDir: string;
  /** Host the client port(s) listen on (default: this member's host). */
  readonly listenHost?: string;
  /** Host the peer port listens on (default: this member's host), e.g. 0.0.0.0 in a
   * container whose address can change when it is reconnected to its network. */
  readonly peerListenHost?: string;
  /** Wall-clock length of one Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** A request not answered by then fails with TIMEOUT. */
  readonly requestTimeoutMs: number;
  /** Take a snapshot and compact the log after this many applied entries... */
  readonly snapshotEveryEntries: number;
  /** ...or after this many bytes of applied entries, whichever comes first... */
  readonly snapshotEveryLogBytes: number;
  /** ...but only once the entries applied since the last snapshot add up to this percent
   * of its size (thesis §5.1.2): each snapshot copies the whole store, so with a large
   * store the copies would otherwise cost more than the writes. The log between
   * snapshots stays on disk, read back when needed (RaftConfig.logMemoryBytesMax). */
  readonly snapshotLogPercent: number;
  /** Entries the log keeps before a snapshot when it is compacted (those still in
   * memory up to 16 MiB; those on disk by count alone), so that a follower a little
   * behind is caught up from the log rather than sent the whole store. */
  readonly snapshotCatchUpEntries: number;
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly requestBytesMax: number;
  /** Writes waiting for the log at once; beyond, new writes are refused (OVERLOADED). */
  readonly pendingWritesMax: number;
  /** Entry bytes of the writes waiting on this node at once (at most its share of the
   * leader's uncommitted bound); beyond, new writes are refused at once (OVERLOADED). */
  readonly pendingWriteBytesMax: number;
  /** Request bytes of the writes one client connection has waiting at once (below
   * pendingWriteBytesMax, so that one client's flood leaves room for the others);
   * beyond, its new writes are refused at once (OVERLOADED; api/connection-budget.ts). */
  readonly connectionWriteBytesMax: number;
  /** Bytes of gRPC requests one client connection's calls hold while they arrive; a
   * call past it waits, unread, until earlier ones reach their handlers
   * (api/grpc/arriving-bytes.ts). A connection holding none is always let one through. */
  readonly connectionArrivingBytesMax: number;
  /** gRPC calls (HTTP/2 streams) one client connection may have open at once, announced
   * in HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS: a client at it waits for a call to end
   * before it starts another. etcd's --max-concurrent-streams, and like it unlimited
   * (2^32 - 1) by default, as long-lived Watch streams would otherwise wait forever. */
  readonly maxConcurrentStreams: number;
  /** Leases at once; grants beyond fail with TOO_MANY_LEASES (each lease costs a log entry per keep-alive). */
  readonly leasesMax: number;
  /** Open gRPC LeaseKeepAlive streams per node; more are refused with RESOURCE_EXHAUSTED. */
  readonly leaseKeepAliveStreamsMax: number;
  /** Watchers on this node at once, over all streams; more are refused. */
  readonly watchersMax: number;
  /** Watchers on one stream (a WebSocket or gRPC Watch stream); more are refused. */
  readonly watchersPerStreamMax: number;
  /** Queued bytes per watcher before it falls back to reading history (see kv/watcher.ts). */
  readonly watcherQueueBytesMax: number;
  /** How often an idle watcher that asked for progress notifications gets one (etcd: 10 minutes). */
  readonly watchProgressNotifyMs: number;
  /**
   * Storage quota (etcd's --quota-backend-bytes): a write that would grow the key-value
   * file past it raises the NOSPACE alarm through the log, and writes are refused until
   * an operator disarms it (server/quota.ts).
   */
  readonly quotaBackendBytes: number;
  /**
   * Free space kept on the data directory's file system: below it the node refuses
   * writes that add data and raises NOSPACE, and lifts the alarm once twice this is
   * free again (server/disk-space.ts).
   */
  readonly diskReserveBytes: number;
  /** How often the free space of the data disk is read. */
  readonly diskCheckMs: number;
  /**
   * Size of a WAL segment file, preallocated in full before it is used so that a full
   * disk is met between records, never inside one (storage/segment-preparer.ts).
   */
  readonly walSegmentBytes: number;
  /**
   * Page origins besides the members' own dashboards that may call this node from a
   * browser (etcd's --cors); every other page is refused (api/origin-gate.ts).
   */
  readonly corsAllowedOrigins: readonly string[];
  /** Create fault hooks reachable through the admin API (tests, chaos, dashboard). */
  readonly enableFaultInjection: boolean;
  /** The control endpoint of the `keel cluster up` process supervising this node, if
   * any; the dashboard uses it to kill and restart nodes. */
  readonly supervisorUrl?: string;
  /** With fault injection: WAL and snapshot writes reach the disk only at fsync, so a
   * kill -9 loses what a power cut would (storage/faulty-disk.ts). For durability tests. */
  readonly faultPowerLoss: boolean;
  /** With fault injection: the boot id the store's marker compares (kv/unsynced-marker.ts)
   * instead of the system's, so a test can restart a node "after a reboot". */
  readonly faultBootId?: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** etcd's --auth-token: `simple` (default) or `jwt,pub-key=FILE,priv-key=FILE,sign-method=ES256|RS256[,ttl=5m]` (server/auth/tokens.ts). */
  readonly authToken?: string;
  /** etcd's --auth-token-ttl: how long a simple token lasts (default 300). */
  readonly authTokenTtlSeconds?: number;
  // Peer authentication and encryption (docs/operating/security-peers.md). A node needs
  // the cluster secret, or mutual TLS with client certificate authentication.
  /** A file holding the cluster secret, copied into the data directory on first start. */
  readonly peerSecretFile?: string;
  /** The peer port's certificate and key, PEM (etcd's --peer-cert-file, --peer-key-file). */
  readonly peerCertFile?: string;
  readonly peerKeyFile?: string;
  /** CAs that sign peers' certificates (etcd's --peer-trusted-ca-file). */
  readonly peerTrustedCaFile?: string;
  /** Require and verify a peer's client certificate (etcd's --peer-client-cert-auth). */
  readonly peerClientCertAuth: boolean;
  /** A verified peer certificate must have this common name (etcd's --peer-cert-allowed-cn). */
  readonly peerCertAllowedCn?: string;
  /** Encrypt with a self-signed certificate made at start; verifies nothing (etcd's --peer-auto-tls). */
  readonly peerAutoTls: boolean;
  /** Client TLS (etcd's --cert-file): the certificate the HTTP and gRPC listeners present, PEM. */
  readonly certFile?: string;
  /** Its private key (etcd's --key-file), PEM. */
  readonly keyFile?: string;
  /** CA that signs client certificates (etcd's --trusted-ca-file), PEM. */
  readonly trustedCaFile?: string;
  /** Clients must present a certificate signed by trustedCaFile; others are refused at the handshake. */
  readonly clientCertAuth: boolean;
  /** Serve TLS with a self-signed certificate made at start and kept under dataDir (etcd's --auto-tls). */
  readonly autoTls: boolean;
}

export const nodeConfigDefaults = {
  clusterId: 'keel',
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 5_000,
  snapshotEveryEntries: 10_000,
  snapshotEveryLogBytes: 64 * 1024 * 1024,
  snapshotLogPercent: 100,
  // As etcd (SnapshotCatchUpEntries).
  snapshotCatchUpEntries: 5_000,
  // 3 KiB, as documented: a larger key does not fit an LMDB key once encoded (kv/key-encoding.ts).
  keyBytesMax: 3 * 1024,
  // As etcd: a value is bounded only by the request that carries it (--max-request-bytes).
  valueBytesMax: 1536 * 1024,
  requestBytesMax: 1536 * 1024,
  pendingWritesMax: 10_000,
  // Enough to keep the pipeline full with 1 MiB values; small enough that what is
  // admitted commits well within the request timeout on a busy machine.
  pendingWriteBytesMax: 8 * 1024 * 1024,
  // Half the node's bound: a client flooding one connection leaves the other half.
  connectionWriteBytesMax: 4 * 1024 * 1024,
  // As many bytes arriving as waiting: more arriving at once would only be refused by
  // connectionWriteBytesMax once it arrived.
  connectionArrivingBytesMax: 4 * 1024 * 1024,
  // HTTP/2's largest: unlimited, etcd's default.
  maxConcurrentStreams: 2 ** 32 - 1,
  leasesMax: 10_000,
  leaseKeepAliveStreamsMax: 1_000,
  watchersMax: 10_000,
  watchersPerStreamMax: 1_000,
  watcherQueueBytesMax: 4 * 1024 * 1024,
  watchProgressNotifyMs: 600_000,
  // etcd's default: 2 GiB.
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  // One WAL segment's worth (storage/wal.ts): room for the alarm, deletes, compaction
  // and the snapshots of a store that has stopped growing.
  diskReserveBytes: 64 * 1024 * 1024,
  diskCheckMs: 1_000,
  // etcd's segment size.
  walSegmentBytes: 64 * 1024 * 1024,
  corsAllowedOrigins: [],
  enableFaultInjection: false,
  join: false,
  faultPowerLoss: false,
  logLevel: 'info',
  authToken: 'simple',
  authTokenTtlSeconds: 300,
  peerClientCertAuth: false,
  peerAutoTls: false,
  clientCertAuth: false,
  autoTls: false,
} as const satisfies Partial<NodeConfig>;

export function selfAddress(config: NodeConfig): MemberAddress {
  const self = config.members.find((m) => m.id === config.id);
  if (!self) throw new Error(`node ${config.id} is not in the member list (${config.members.map((m) => m.id).join(', ')})`);
  return self;
}

/** True when the client port speaks TLS (HTTPS and gRPC over TLS). */
export function clientTlsEnabled(config: Pick<NodeConfig, 'certFile' | 'autoTls'>): boolean {
  return config.certFile !== undefined || config.autoTls;
}

/** The scheme of this node's peer URLs: https when its peer port speaks TLS. */
export function peerScheme(config: Pick<NodeConfig, 'peerCertFile' | 'peerAutoTls'>): 'http' | 'https' {
  return config.peerCertFile !== undefined || config.peerAutoTls ? 'https' : 'http';
}

/** The scheme of this node's client URLs: https when its client port speaks TLS. */
export function clientScheme(config: Pick<NodeConfig, 'certFile' | 'autoTls'>): 'http' | 'https' {
  return clientTlsEnabled(config) ? 'https' : 'http';
}
