/**
 * Builds a node's configuration from, in rising priority: defaults, a YAML file
 * (`--config`), KEEL_* environment variables, command-line flags. Every problem is
 * reported with the setting's name and where it came from.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { nodeConfigDefaults, type MemberAddress, type NodeConfig } from '../replica/index.js';
import { KEY_BYTES_PHYSICAL_MAX } from '../kv/index.js';
import { parseTokenSettings } from '../server/index.js';

/** Settings as strings or numbers, before validation, keyed by their YAML names. */
export type RawSettings = Partial<Record<keyof NodeConfig, unknown>>;

// etcd's ETCD_* names come first where a setting has an etcd twin, so a KEEL_* name set
// beside one wins (the loop below lets later names override earlier ones).
const envNames: Record<string, keyof NodeConfig> = {
  ETCD_DATA_DIR: 'dataDir',
  ETCD_QUOTA_BACKEND_BYTES: 'quotaBackendBytes',
  ETCD_MAX_CONCURRENT_STREAMS: 'maxConcurrentStreams',
  ETCD_SNAPSHOT_COUNT: 'snapshotEveryEntries',
  ETCD_LOG_LEVEL: 'logLevel',
  KEEL_ID: 'id',
  KEEL_CLUSTER_ID: 'clusterId',
  KEEL_MEMBERS: 'members',
  KEEL_DATA_DIR: 'dataDir',
  KEEL_LISTEN_HOST: 'listenHost',
  KEEL_PEER_LISTEN_HOST: 'peerListenHost',
  KEEL_TICK_MS: 'tickMs',
  KEEL_ELECTION_TICKS: 'electionTicks',
  KEEL_HEARTBEAT_TICKS: 'heartbeatTicks',
  KEEL_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  KEEL_SNAPSHOT_EVERY_ENTRIES: 'snapshotEveryEntries',
  KEEL_SNAPSHOT_EVERY_LOG_BYTES: 'snapshotEveryLogBytes',
  KEEL_SNAPSHOT_LOG_PERCENT: 'snapshotLogPercent',
  KEEL_SNAPSHOT_CATCH_UP_ENTRIES: 'snapshotCatchUpEntries',
  KEEL_KEY_BYTES_MAX: 'keyBytesMax',
  KEEL_VALUE_BYTES_MAX: 'valueBytesMax',
  KEEL_REQUEST_BYTES_MAX: 'requestBytesMax',
  KEEL_PENDING_WRITES_MAX: 'pendingWritesMax',
  KEEL_PENDING_WRITE_BYTES_MAX: 'pendingWriteBytesMax',
  KEEL_CONNECTION_WRITE_BYTES_MAX: 'connectionWriteBytesMax',
  KEEL_CONNECTION_ARRIVING_BYTES_MAX: 'connectionArrivingBytesMax',
  KEEL_MAX_CONCURRENT_STREAMS: 'maxConcurrentStreams',
  KEEL_LEASES_MAX: 'leasesMax',
  KEEL_LEASE_KEEPALIVE_STREAMS_MAX: 'leaseKeepAliveStreamsMax',
  KEEL_WATCHERS_MAX: 'watchersMax',
  KEEL_WATCHERS_PER_STREAM_MAX: 'watchersPerStreamMax',
  KEEL_WATCHER_QUEUE_BYTES_MAX: 'watcherQueueBytesMax',
  KEEL_WATCH_PROGRESS_NOTIFY_MS: 'watchProgressNotifyMs',
  KEEL_QUOTA_BACKEND_BYTES: 'quotaBackendBytes',
  KEEL_DISK_RESERVE_BYTES: 'diskReserveBytes',
  KEEL_DISK_CHECK_MS: 'diskCheckMs',
  KEEL_WAL_SEGMENT_BYTES: 'walSegmentBytes',
  KEEL_CORS: 'corsAllowedOrigins',
  KEEL_ENABLE_FAULT_INJECTION: 'enableFaultInjection',
  KEEL_JOIN: 'join',
  KEEL_FAULT_POWER_LOSS: 'faultPowerLoss',
  KEEL_FAULT_BOOT_ID: 'faultBootId',
  KEEL_LOG_LEVEL: 'logLevel',
  KEEL_SUPERVISOR_URL: 'supervisorUrl',
  KEEL_AUTH_TOKEN: 'authToken',
  KEEL_AUTH_TOKEN_TTL: 'authTokenTtlSeconds',
  KEEL_PEER_SECRET_FILE: 'peerSecretFile',
  KEEL_PEER_CERT_FILE: 'peerCertFile',
  KEEL_PEER_KEY_FILE: 'peerKeyFile',
  KEEL_PEER_TRUSTED_CA_FILE: 'peerTrustedCaFile',
  KEEL_PEER_CLIENT_CERT_AUTH: 'peerClientCertAuth',
  KEEL_PEER_CERT_ALLOWED_CN: 'peerCertAllowedCn',
  KEEL_PEER_AUTO_TLS: 'peerAutoTls',
  KEEL_CERT_FILE: 'certFile',
  KEEL_KEY_FILE: 'keyFile',
  KEEL_TRUSTED_CA_FILE: 'trustedCaFile',
  KEEL_CLIENT_CERT_AUTH: 'clientCertAuth',
  KEEL_AUTO_TLS: 'autoTls',
};

export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  for (const [name, key] of Object.entries(envNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

export function settingsFromYaml(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  const value: unknown = parseYaml(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`Config file ${path} must hold a YAML mapping`);
  return value as RawSettings;
}

/**
 * Members as `id=host:peerPort:clientPort[:grpcPort]` separated by commas, e.g.
 * `1=127.0.0.1:7101:7001,2=127.0.0.1:7102:7002`, or a YAML list of objects. The client
 * port serves HTTP and gRPC; a grpcPort is a second client port serving the same (the
 * layout from when gRPC had a port of its own; etcd clients are given that one). A YAML
 * member (or one from etcd's --initial-cluster) may carry its `name`.
 */
export function parseMembers(value: unknown): MemberAddress[] {
  if (Array.isArray(value)) {
    return value.map((m: unknown, i) => {
      const { id, name, host, peerPort, clientPort, grpcPort } = (m ?? {}) as Record<string, unknown>;
      return checkMember(
        {
          id: Number(id),
          ...(typeof name === 'string' && name !== '' ? { name } : {}),
          host: String(host),
          peerPort: Number(peerPort),
          clientPort: Number(clientPort),
          ...(grpcPort !== undefined ? { grpcPort: Number(grpcPort) } : {}),
        },
        `members[${i}]`,
      );
    });
  }
  if (typeof value !== 'string' || value.trim() === '') throw new Error('members must be given (e.g. 1=127.0.0.1:7101:7001,2=127.0.0.1:7102:7002)');
  return value.split(',').map((part) => {
    const match = /^\s*(\d+)=([^:\s]+):(\d+):(\d+)(?::(\d+))?\s*$/.exec(part);
    if (!match) throw new Error(`member "${part}" must look like id=host:peerPort:clientPort[:grpcPort]`);
    const grpcPort = match[5] !== undefined ? { grpcPort: Number(match[5]) } : {};
    return checkMember({ id: Number(match[1]), host: match[2] as string, peerPort: Number(match[3]), clientPort: Number(match[4]), ...grpcPort }, part);
  });
}

function checkMember(member: MemberAddress, where: string): MemberAddress {
  if (!Number.isSafeInteger(member.id) || member.id < 1) throw new Error(`${where}: id must be a positive integer`);
  for (const port of [member.peerPort, member.clientPort, ...(member.grpcPort !== undefined ? [member.grpcPort] : [])]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${where}: ports must be integers in 1..65535`);
  }
  return member;
}

export function buildNodeConfig(...layers: RawSettings[]): NodeConfig {
  const merged: RawSettings = Object.assign({}, nodeConfigDefaults, ...layers);
  const integer = (name: keyof NodeConfig, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const value = Number(merged[name]);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new Error(`${name} must be an integer ${range}, got ${JSON.stringify(merged[name])}`);
    }
    return value;
  };
  const members = parseMembers(merged.members);
  const ids = new Set(members.map((m) => m.id));
  if (ids.size !== members.length) throw new Error('members: every id must be unique');
  const id = integer('id', 1);
  if (!ids.has(id)) throw new Error(`id ${id} is not one of the members (${[...ids].join(', ')})`);
  if (typeof merged.dataDir !== 'string' || merged.dataDir === '') throw new Error('dataDir must be given');
  const logLevel = String(merged.logLevel);
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) throw new Error(`logLevel must be debug, info, warn, error or silent`);
  const authToken = String(merged.authToken);
  const authTokenTtlSeconds = integer('authTokenTtlSeconds', 1);
  // Refuse a bad --auth-token at start, naming the problem (the key files are read by the node).
  parseTokenSettings(authToken, authTokenTtlSeconds);
  const electionTicks = integer('electionTicks', 2);
  const heartbeatTicks = integer('heartbeatTicks', 1);
  if (heartbeatTicks >= electionTicks) throw new Error('heartbeatTicks must be smaller than electionTicks');
  return {
    id,
    clusterId: String(merged.clusterId),
    members,
    dataDir: merged.dataDir,
    ...(merged.listenHost ? { listenHost: String(merged.listenHost) } : {}),
    ...(merged.peerListenHost ? { peerListenHost: String(merged.peerListenHost) } : {}),
    ...(merged.supervisorUrl ? { supervisorUrl: checkSupervisorUrl(merged.supervisorUrl) } : {}),
    tickMs: integer('tickMs', 1),
    electionTicks,
    heartbeatTicks,
    requestTimeoutMs: integer('requestTimeoutMs', 1),
    snapshotEveryEntries: integer('snapshotEveryEntries', 1),
    snapshotEveryLogBytes: integer('snapshotEveryLogBytes', 1),
    snapshotLogPercent: integer('snapshotLogPercent', 0),
    snapshotCatchUpEntries: integer('snapshotCatchUpEntries', 0),
    keyBytesMax: keyBytesMaxOf(integer('keyBytesMax', 1)),
    valueBytesMax: integer('valueBytesMax', 1),
    requestBytesMax: integer('requestBytesMax', 1),
    pendingWritesMax: integer('pendingWritesMax', 1),
    pendingWriteBytesMax: integer('pendingWriteBytesMax', 1),
    connectionWriteBytesMax: integer('connectionWriteBytesMax', 1),
    connectionArrivingBytesMax: integer('connectionArrivingBytesMax', 1),
    // HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS is a 32-bit value.
    maxConcurrentStreams: integer('maxConcurrentStreams', 1, 2 ** 32 - 1),
    leasesMax: integer('leasesMax', 1),
    leaseKeepAliveStreamsMax: integer('leaseKeepAliveStreamsMax', 1),
    watchersMax: integer('watchersMax', 1),
    watchersPerStreamMax: integer('watchersPerStreamMax', 1),
    watcherQueueBytesMax: integer('watcherQueueBytesMax', 1024),
    watchProgressNotifyMs: integer('watchProgressNotifyMs', 10),
    quotaBackendBytes: integer('quotaBackendBytes', 1),
    diskReserveBytes: integer('diskReserveBytes', 0),
    diskCheckMs: integer('diskCheckMs', 10),
    walSegmentBytes: integer('walSegmentBytes', 1024 * 1024),
    corsAllowedOrigins: parseOrigins(merged.corsAllowedOrigins),
    enableFaultInjection: merged.enableFaultInjection === true || merged.enableFaultInjection === 'true',
    join: merged.join === true || merged.join === 'true',
    faultPowerLoss: merged.faultPowerLoss === true || merged.faultPowerLoss === 'true',
    ...(merged.faultBootId !== undefined ? { faultBootId: String(merged.faultBootId) } : {}),
    logLevel: logLevel as NodeConfig['logLevel'],
    authToken,
    authTokenTtlSeconds,
    ...peerSecuritySettings(merged),
    ...clientTlsSettings(merged),
  };
}

/** etcd's rules for the client TLS flags: a certificate needs its key, client-cert-auth needs a CA. */
function clientTlsSettings(merged: RawSettings): Pick<NodeConfig, 'certFile' | 'keyFile' | 'trustedCaFile' | 'clientCertAuth' | 'autoTls'> {
  const file = (name: 'certFile' | 'keyFile' | 'trustedCaFile'): string | undefined => {
    const value = merged[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`${name} must be a file path, got ${JSON.stringify(value)}`);
    return value;
  };
  const certFile = file('certFile');
  const keyFile = file('keyFile');
  const trustedCaFile = file('trustedCaFile');
  const clientCertAuth = merged.clientCertAuth === true || merged.clientCertAuth === 'true';
  const autoTls = merged.autoTls === true || merged.autoTls === 'true';
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('certFile and keyFile must be given together');
  if (autoTls && certFile !== undefined) throw new Error('autoTls and certFile exclude each other: give a certificate or ask for a self-signed one');
  if (clientCertAuth && trustedCaFile === undefined) throw new Error('clientCertAuth needs trustedCaFile (the CA that signs client certificates)');
  if (trustedCaFile !== undefined && certFile === undefined && !autoTls)
    throw new Error('trustedCaFile needs certFile and keyFile (or autoTls): client certificates are checked only over TLS');
  return {
    ...(certFile !== undefined ? { certFile } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    ...(trustedCaFile !== undefined ? { trustedCaFile } : {}),
    clientCertAuth,
    autoTls,
  };
}

/** A key limit the store can hold: past KEY_BYTES_PHYSICAL_MAX a key does not fit an LMDB key once encoded. */
function keyBytesMaxOf(value: number): number {
  if (value > KEY_BYTES_PHYSICAL_MAX)
    throw new Error(`keyBytesMax must be at most ${KEY_BYTES_PHYSICAL_MAX} (a longer key does not fit the store's index), got ${value}`);
  return value;
}

/**
 * Page origins as `scheme://host[:port]`, comma-separated or a YAML list. `*` is refused:
 * allowing every page would undo what the origin check is for.
 */
export function parseOrigins(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : String(value ?? '').split(',');
  return items
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      if (item === '*') throw new Error('corsAllowedOrigins (--cors) must list origins; "*" would let every web page drive the cluster');
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        throw new Error(`corsAllowedOrigins (--cors): ${JSON.stringify(item)} is not an origin like https://dashboard.example:8443`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
        throw new Error(`corsAllowedOrigins (--cors): ${JSON.stringify(item)} is not an origin (scheme://host[:port], no path)`);
      }
      return url.origin;
    });
}

type PeerSecuritySettings = Pick<
  NodeConfig,
  'peerSecretFile' | 'peerCertFile' | 'peerKeyFile' | 'peerTrustedCaFile' | 'peerClientCertAuth' | 'peerCertAllowedCn' | 'peerAutoTls'
>;

/** The peer port's TLS and secret settings, checked for combinations that make no sense. */
function peerSecuritySettings(merged: RawSettings): PeerSecuritySettings {
  const text = (name: keyof PeerSecuritySettings): string | undefined => {
    const value = merged[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`${name} must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  const flag = (name: keyof PeerSecuritySettings): boolean => merged[name] === true || merged[name] === 'true';
  const secretFile = text('peerSecretFile');
  const certFile = text('peerCertFile');
  const keyFile = text('peerKeyFile');
  const trustedCaFile = text('peerTrustedCaFile');
  const clientCertAuth = flag('peerClientCertAuth');
  const allowedCn = text('peerCertAllowedCn');
  const autoTls = flag('peerAutoTls');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('peerCertFile and peerKeyFile go together');
  if (autoTls && certFile !== undefined) throw new Error('peerAutoTls makes its own certificate: give it or peerCertFile and peerKeyFile, not both');
  if (trustedCaFile !== undefined && certFile === undefined) throw new Error('peerTrustedCaFile needs peerCertFile and peerKeyFile (TLS on the peer port)');
  if (clientCertAuth && trustedCaFile === undefined) throw new Error('peerClientCertAuth needs peerTrustedCaFile: client certificates are checked against it');
  if (allowedCn !== undefined && !clientCertAuth)
    throw new Error('peerCertAllowedCn needs peerClientCertAuth: only a verified certificate has a name worth checking');
  return {
    peerClientCertAuth: clientCertAuth,
    peerAutoTls: autoTls,
    ...(secretFile !== undefined ? { peerSecretFile: secretFile } : {}),
    ...(certFile !== undefined ? { peerCertFile: certFile } : {}),
    ...(keyFile !== undefined ? { peerKeyFile: keyFile } : {}),
    ...(trustedCaFile !== undefined ? { peerTrustedCaFile: trustedCaFile } : {}),
    ...(allowedCn !== undefined ? { peerCertAllowedCn: allowedCn } : {}),
  };
}

/** The supervisor listens on loopback only (cluster-command.ts); anything else is a mistake. */
function checkSupervisorUrl(value: unknown): string {
  const text = String(value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`supervisorUrl must be a URL like http://127.0.0.1:7300, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') throw new Error(`supervisorUrl must be http://127.0.0.1:PORT, got ${JSON.stringify(text)}`);
  return url.origin;
}
