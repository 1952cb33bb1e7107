/**
 * `keel start`: run one node in the foreground until SIGTERM or SIGINT, then shut
 * down gracefully: stop accepting requests, let in-flight ones finish, flush, close.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { KeelNode } from '../server/index.js';
import { selfAddress, type NodeConfig } from '../replica/index.js';
import { startClientApi } from '../api/index.js';
import { buildNodeConfig, settingsFromEnv, settingsFromYaml } from './node-config.js';
import type { RawSettings } from './node-config.js';
import { openClientTls } from './client-tls-files.js';
import { discoverInitialCluster, etcdFlagsFromEnv, settingsFromEtcdFlags, usesEtcdStyle } from './etcd-flags.js';
import type { EtcdStyleFlags } from './etcd-flags.js';

interface StartFlags extends EtcdStyleFlags {
  config?: string;
  id?: string;
  clusterId?: string;
  members?: string;
  dataDir?: string;
  listenHost?: string;
  tickMs?: string;
  electionTicks?: string;
  requestTimeoutMs?: string;
  snapshotEveryEntries?: string;
  snapshotEveryLogBytes?: string;
  snapshotLogPercent?: string;
  snapshotCatchUpEntries?: string;
  quotaBackendBytes?: string;
  maxConcurrentStreams?: string;
  diskReserveBytes?: string;
  walSegmentBytes?: string;
  cors?: string;
  enableFaultInjection?: boolean;
  join?: boolean;
  supervisorUrl?: string;
  logLevel?: string;
  authToken?: string;
  authTokenTtl?: string;
  peerSecretFile?: string;
  peerCertFile?: string;
  peerKeyFile?: string;
  peerTrustedCaFile?: string;
  peerClientCertAuth?: boolean;
  peerCertAllowedCn?: string;
  peerAutoTls?: boolean;
  certFile?: string;
  keyFile?: string;
  trustedCaFile?: string;
  clientCertAuth?: boolean;
  autoTls?: boolean;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run one Keel node in the foreground')
    .option('--config <file>', 'YAML config file (flags and KEEL_* variables override it)')
    .option('--id <n>', 'this node id (KEEL_ID)')
    .option('--cluster-id <name>', 'cluster name; peers of another cluster are refused (KEEL_CLUSTER_ID)')
    .option(
      '--members <list>',
      'id=host:peerPort:clientPort[:grpcPort],... for every member; the client port serves HTTP and gRPC, grpcPort is an optional second one (KEEL_MEMBERS)',
    )
    .option('--data-dir <dir>', 'where to keep the WAL, snapshots and store (KEEL_DATA_DIR)')
    .option('--listen-host <host>', 'address for the client port to listen on (default: the member host)')
    .option('--tick-ms <ms>', 'length of a Raft tick (KEEL_TICK_MS)')
    .option('--election-ticks <n>', 'election timeout in ticks (KEEL_ELECTION_TICKS)')
    .option('--request-timeout-ms <ms>', 'requests fail with TIMEOUT after this (KEEL_REQUEST_TIMEOUT_MS)')
    .option('--snapshot-every-entries <n>', 'snapshot and compact the log after this many entries')
    .option('--snapshot-every-log-bytes <n>', 'snapshot and compact the log after this many bytes of entries, if sooner')
    .option('--snapshot-log-percent <n>', 'but only once the log since the last snapshot holds this percent of its size (default 100; 0: no wait)')
    .option('--snapshot-catch-up-entries <n>', 'entries the log keeps before a snapshot, to catch up a follower a little behind')
    .option('--quota-backend-bytes <bytes>', 'storage quota; past it the NOSPACE alarm refuses writes (KEEL_QUOTA_BACKEND_BYTES, default 2 GiB)')
    .option(
      '--max-concurrent-streams <n>',
      "gRPC calls one client connection may have open at once, as etcd's flag (KEEL_MAX_CONCURRENT_STREAMS, default unlimited)",
    )
    .option(
      '--disk-reserve-bytes <bytes>',
      'free space kept on the data disk; below it writes that add data are refused with NOSPACE (KEEL_DISK_RESERVE_BYTES, default 64 MiB)',
    )
    .option('--wal-segment-bytes <bytes>', 'size of a WAL segment file, preallocated before use (KEEL_WAL_SEGMENT_BYTES, default 64 MiB, at least 1 MiB)')
    .option(
      '--cors <origins>',
      "comma-separated page origins, besides the members' own dashboards, that may call this node from a browser (KEEL_CORS, etcd's --cors)",
    )
    .option('--enable-fault-injection', 'expose fault hooks at /admin/faults (tests and chaos only)')
    .option('--join', 'join an existing cluster (after `keel member add`): learn the configuration from the leader (KEEL_JOIN)')
    .option('--supervisor-url <url>', 'control endpoint of the keel cluster up process that runs this node, for the dashboard (KEEL_SUPERVISOR_URL)')
    .option('--log-level <level>', 'debug, info, warn, error or silent (KEEL_LOG_LEVEL)')
    .option('--auth-token <spec>', 'simple, or jwt,pub-key=FILE,priv-key=FILE,sign-method=ES256|RS256[,ttl=5m] (KEEL_AUTH_TOKEN, default simple)')
    .option('--auth-token-ttl <seconds>', 'lifetime of a simple token (KEEL_AUTH_TOKEN_TTL, default 300)')
    .option('--peer-secret-file <file>', 'the cluster secret (keel cluster secret), copied into the data directory on first start (KEEL_PEER_SECRET_FILE)')
    .option('--peer-cert-file <file>', 'peer port TLS certificate, PEM; re-read when it changes (KEEL_PEER_CERT_FILE)')
    .option('--peer-key-file <file>', 'peer port TLS key, PEM (KEEL_PEER_KEY_FILE)')
    .option('--peer-trusted-ca-file <file>', "CAs that sign peers' certificates (KEEL_PEER_TRUSTED_CA_FILE)")
    .option('--peer-client-cert-auth', "require and verify peers' client certificates (KEEL_PEER_CLIENT_CERT_AUTH)")
    .option('--peer-cert-allowed-cn <name>', 'a verified peer certificate must have this common name (KEEL_PEER_CERT_ALLOWED_CN)')
    .option('--peer-auto-tls', 'encrypt peer traffic with a self-signed certificate; verifies nothing, so needs the cluster secret (KEEL_PEER_AUTO_TLS)')
    .option('--cert-file <file>', 'client TLS: certificate of the client port (HTTPS and gRPC), PEM; re-read when it changes (KEEL_CERT_FILE)')
    .option('--key-file <file>', 'client TLS: its private key, PEM (KEEL_KEY_FILE)')
    .option('--trusted-ca-file <file>', 'client TLS: CA that signs client certificates, PEM (KEEL_TRUSTED_CA_FILE)')
    .option('--client-cert-auth', 'client TLS: refuse clients without a certificate signed by --trusted-ca-file (KEEL_CLIENT_CERT_AUTH)')
    .option('--auto-tls', 'client TLS with a self-signed certificate kept under the data dir; clients cannot verify it (KEEL_AUTO_TLS)')
    // etcd's bootstrap flags (etcd-flags.ts), beside Keel's --id/--members.
    .option('--name <name>', "etcd-style: this member's name in --initial-cluster (ETCD_NAME, KEEL_NAME)")
    .option('--initial-cluster <list>', 'etcd-style: name=peerURL,... for every member (ETCD_INITIAL_CLUSTER)')
    .option('--initial-cluster-state <state>', 'etcd-style: new, or existing to join a running cluster (ETCD_INITIAL_CLUSTER_STATE)')
    .option('--initial-cluster-token <token>', 'etcd-style: the cluster id; also seeds the member ids (ETCD_INITIAL_CLUSTER_TOKEN)')
    .option('--listen-peer-urls <url>', 'etcd-style: peer URL to listen on; its port must be the advertised one (ETCD_LISTEN_PEER_URLS)')
    .option('--initial-advertise-peer-urls <url>', "etcd-style: this member's peer URL; must match --initial-cluster (ETCD_INITIAL_ADVERTISE_PEER_URLS)")
    .option('--listen-client-urls <url>', 'etcd-style: the client port (gRPC, HTTP, gateway, dashboard), e.g. http://0.0.0.0:2379 (ETCD_LISTEN_CLIENT_URLS)')
    .option('--advertise-client-urls <url>', 'etcd-style: the client URL given to clients (ETCD_ADVERTISE_CLIENT_URLS)')
    .option(
      '--http-port <port>',
      'with etcd-style flags: an optional second client port on the client host, serving the same as the first (KEEL_HTTP_PORT; for setups made when HTTP had a port of its own)',
    )
    .option('--discovery-srv <domain>', 'etcd-style: find the members from _etcd-server(-ssl)._tcp.DOMAIN SRV records (ETCD_DISCOVERY_SRV)')
    .action(async (flags: StartFlags) => {
      const config = buildNodeConfig(
        flags.config ? settingsFromYaml(flags.config) : {},
        settingsFromEnv(process.env),
        flagSettings(flags),
        await etcdStyleSettings(flags),
      );
      await runNode(config);
    });
}

function flagSettings(flags: StartFlags): RawSettings {
  const out: RawSettings = {};
  const set = (key: keyof NodeConfig, value: unknown): void => {
    if (value !== undefined) out[key] = value;
  };
  set('id', flags.id);
  set('clusterId', flags.clusterId);
  set('members', flags.members);
  set('dataDir', flags.dataDir);
  set('listenHost', flags.listenHost);
  set('tickMs', flags.tickMs);
  set('electionTicks', flags.electionTicks);
  set('requestTimeoutMs', flags.requestTimeoutMs);
  set('snapshotEveryEntries', flags.snapshotEveryEntries);
  set('snapshotEveryLogBytes', flags.snapshotEveryLogBytes);
  set('snapshotLogPercent', flags.snapshotLogPercent);
  set('snapshotCatchUpEntries', flags.snapshotCatchUpEntries);
  set('quotaBackendBytes', flags.quotaBackendBytes);
  set('maxConcurrentStreams', flags.maxConcurrentStreams);
  set('diskReserveBytes', flags.diskReserveBytes);
  set('walSegmentBytes', flags.walSegmentBytes);
  set('corsAllowedOrigins', flags.cors);
  set('enableFaultInjection', flags.enableFaultInjection);
  set('join', flags.join);
  set('supervisorUrl', flags.supervisorUrl);
  set('logLevel', flags.logLevel);
  set('authToken', flags.authToken);
  set('authTokenTtlSeconds', flags.authTokenTtl);
  set('peerSecretFile', flags.peerSecretFile);
  set('peerCertFile', flags.peerCertFile);
  set('peerKeyFile', flags.peerKeyFile);
  set('peerTrustedCaFile', flags.peerTrustedCaFile);
  set('peerClientCertAuth', flags.peerClientCertAuth);
  set('peerCertAllowedCn', flags.peerCertAllowedCn);
  set('peerAutoTls', flags.peerAutoTls);
  set('certFile', flags.certFile);
  set('keyFile', flags.keyFile);
  set('trustedCaFile', flags.trustedCaFile);
  set('clientCertAuth', flags.clientCertAuth);
  set('autoTls', flags.autoTls);
  return out;
}

/** Settings from etcd's bootstrap flags and ETCD_* variables, if any are given. */
async function etcdStyleSettings(flags: StartFlags): Promise<RawSettings> {
  const fromFlags: EtcdStyleFlags = {};
  for (const key of [
    'name',
    'initialCluster',
    'initialClusterState',
    'initialClusterToken',
    'listenPeerUrls',
    'initialAdvertisePeerUrls',
    'listenClientUrls',
    'advertiseClientUrls',
    'httpPort',
    'discoverySrv',
  ] as const) {
    if (flags[key] !== undefined) fromFlags[key] = flags[key];
  }
  const etcd: EtcdStyleFlags = { ...etcdFlagsFromEnv(process.env), ...fromFlags };
  if (!usesEtcdStyle(etcd)) return {};
  if (flags.members !== undefined || flags.id !== undefined)
    throw new Error('--members/--id and etcd-style flags (--name, --initial-cluster, ...) cannot be mixed; use one syntax');
  if (etcd.discoverySrv !== undefined) {
    if (etcd.initialCluster !== undefined) throw new Error('--discovery-srv and --initial-cluster cannot be mixed; use one');
    etcd.initialCluster = await discoverInitialCluster(etcd.discoverySrv);
  }
  return settingsFromEtcdFlags(etcd);
}

export async function runNode(config: NodeConfig): Promise<void> {
  const log = pino({ level: config.logLevel, base: { node: config.id } });
  const self = selfAddress(config);
  let removedFromCluster = false;
  let stop: (reason: string) => Promise<void> = async () => {};
  // Before the node starts: a bad certificate file stops the start with nothing running.
  const tls = await openClientTls(config, self.host, log);
  const node = await KeelNode.start(
    config,
    log,
    (error) => {
      log.fatal({ err: error }, 'node stopped on a fatal error');
      process.exit(1);
    },
    // etcd's behaviour: a member removed from the cluster shuts itself down.
    () => {
      removedFromCluster = true;
      void stop('removed from the cluster');
    },
  );
  const listenHost = config.listenHost ?? self.host;
  // One client port for every protocol; a member's separate gRPC port, if it has one, is a second.
  const second = self.grpcPort !== undefined && self.grpcPort !== self.clientPort;
  const ports: [number, ...number[]] = second ? [self.clientPort, self.grpcPort as number] : [self.clientPort];
  const api = await startClientApi({ node, host: listenHost, ports, requestBytesMax: config.requestBytesMax, log, ...(tls ? { tls } : {}) });
  log.info(
    { urls: api.urls, peer: `${self.host}:${self.peerPort}` },
    `keel node ${config.id} serving ${api.urls.join(' and ')} (HTTP, the JSON gateway, the dashboard and etcd gRPC)`,
  );
  let stopping = false;
  stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    await api.close();
    tls?.files.close();
    await node.stop();
    process.exit(0);
  };
  if (removedFromCluster) void stop('removed from the cluster');
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
