/**
 * `keel start`: run one node in the foreground until SIGTERM or SIGINT, then shut
 * down gracefully: stop accepting requests, let in-flight ones finish, flush, close.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { KeelNode } from '../server/keel-node.js';
import { selfAddress } from '../server/config.js';
import type { NodeConfig } from '../server/config.js';
import { startHttpApi } from '../api/http-server.js';
import { startGrpcApi } from '../api/grpc/grpc-server.js';
import { buildNodeConfig, settingsFromEnv, settingsFromYaml } from './node-config.js';
import type { RawSettings } from './node-config.js';
import { openClientTls } from './client-tls-files.js';

interface StartFlags {
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
  quotaBackendBytes?: string;
  enableFaultInjection?: boolean;
  join?: boolean;
  supervisorUrl?: string;
  logLevel?: string;
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
    .option('--members <list>', 'id=host:peerPort:clientPort[:grpcPort],... for every member (KEEL_MEMBERS)')
    .option('--data-dir <dir>', 'where to keep the WAL, snapshots and store (KEEL_DATA_DIR)')
    .option('--listen-host <host>', 'address for the HTTP API to listen on (default: the member host)')
    .option('--tick-ms <ms>', 'length of a Raft tick (KEEL_TICK_MS)')
    .option('--election-ticks <n>', 'election timeout in ticks (KEEL_ELECTION_TICKS)')
    .option('--request-timeout-ms <ms>', 'requests fail with TIMEOUT after this (KEEL_REQUEST_TIMEOUT_MS)')
    .option('--snapshot-every-entries <n>', 'snapshot and compact the log after this many entries')
    .option('--quota-backend-bytes <bytes>', 'storage quota; past it the NOSPACE alarm refuses writes (KEEL_QUOTA_BACKEND_BYTES, default 2 GiB)')
    .option('--enable-fault-injection', 'expose fault hooks at /admin/faults (tests and chaos only)')
    .option('--join', 'join an existing cluster (after `keel member add`): learn the configuration from the leader (KEEL_JOIN)')
    .option('--supervisor-url <url>', 'control endpoint of the keel cluster up process that runs this node, for the dashboard (KEEL_SUPERVISOR_URL)')
    .option('--log-level <level>', 'debug, info, warn, error or silent (KEEL_LOG_LEVEL)')
    .option('--cert-file <file>', 'client TLS: certificate of the HTTP and gRPC listeners, PEM; re-read when it changes (KEEL_CERT_FILE)')
    .option('--key-file <file>', 'client TLS: its private key, PEM (KEEL_KEY_FILE)')
    .option('--trusted-ca-file <file>', 'client TLS: CA that signs client certificates, PEM (KEEL_TRUSTED_CA_FILE)')
    .option('--client-cert-auth', 'client TLS: refuse clients without a certificate signed by --trusted-ca-file (KEEL_CLIENT_CERT_AUTH)')
    .option('--auto-tls', 'client TLS with a self-signed certificate kept under the data dir; clients cannot verify it (KEEL_AUTO_TLS)')
    .action(async (flags: StartFlags) => {
      const config = buildNodeConfig(
        flags.config ? settingsFromYaml(flags.config) : {},
        settingsFromEnv(process.env),
        flagSettings(flags),
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
  set('quotaBackendBytes', flags.quotaBackendBytes);
  set('enableFaultInjection', flags.enableFaultInjection);
  set('join', flags.join);
  set('supervisorUrl', flags.supervisorUrl);
  set('logLevel', flags.logLevel);
  set('certFile', flags.certFile);
  set('keyFile', flags.keyFile);
  set('trustedCaFile', flags.trustedCaFile);
  set('clientCertAuth', flags.clientCertAuth);
  set('autoTls', flags.autoTls);
  return out;
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
  const tlsOption = tls ? { tls } : {};
  const api = await startHttpApi({ node, host: listenHost, port: self.clientPort, requestBytesMax: config.requestBytesMax, ...tlsOption });
  const grpc = self.grpcPort !== undefined
    ? await startGrpcApi({ node, host: listenHost, port: self.grpcPort, requestBytesMax: config.requestBytesMax, ...tlsOption })
    : undefined;
  log.info(
    { url: api.url, grpc: grpc?.url ?? 'off (no gRPC port in the member list)', peer: `${self.host}:${self.peerPort}` },
    `keel node ${config.id} serving ${api.url}${grpc ? ` and etcd gRPC at ${grpc.url}` : ''}`,
  );
  let stopping = false;
  stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    await api.close();
    await grpc?.close();
    tls?.files.close();
    await node.stop();
    process.exit(0);
  };
  if (removedFromCluster) void stop('removed from the cluster');
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
