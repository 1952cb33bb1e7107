/**
 * etcd's bootstrap flags (`--name`, `--initial-cluster`, ...) translated into Keel's own
 * settings (`id`, `members`, `clusterId`, `join`, `listenHost`), so a node can be started
 * the way etcd members are. Keel's `--members` syntax stays; the two may not be mixed.
 *
 * Mapping (docs/operating/deployment.md):
 * - a member's numeric id is derived, as etcd does, from its peer URL and the cluster
 *   token: the first 48 bits of SHA-256("<token>/<peerURL>"), so every node computes the
 *   same ids from the same list, in any order, and ids of different clusters differ;
 * - the client URL (`--listen-client-urls`, `--advertise-client-urls`) is the client
 *   port, which serves gRPC and HTTP alike (api/client-port.ts), where etcd clients
 *   expect it. `--http-port`, if given, opens a second client port on the same host
 *   (Keel's REST URL, as it was when HTTP had a port of its own). Every member uses the
 *   same client ports.
 */
import { createHash } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { RawSettings } from './node-config.js';

export interface EtcdStyleFlags {
  name?: string;
  initialCluster?: string;
  initialClusterState?: string;
  initialClusterToken?: string;
  listenPeerUrls?: string;
  initialAdvertisePeerUrls?: string;
  listenClientUrls?: string;
  advertiseClientUrls?: string;
  httpPort?: string;
  discoverySrv?: string;
}

/** etcd's default where Keel has no setting of its own. */
const defaultClientPort = 2379;

export const etcdEnvNames: Record<string, keyof EtcdStyleFlags> = {
  ETCD_NAME: 'name',
  ETCD_INITIAL_CLUSTER: 'initialCluster',
  ETCD_INITIAL_CLUSTER_STATE: 'initialClusterState',
  ETCD_INITIAL_CLUSTER_TOKEN: 'initialClusterToken',
  ETCD_LISTEN_PEER_URLS: 'listenPeerUrls',
  ETCD_INITIAL_ADVERTISE_PEER_URLS: 'initialAdvertisePeerUrls',
  ETCD_LISTEN_CLIENT_URLS: 'listenClientUrls',
  ETCD_ADVERTISE_CLIENT_URLS: 'advertiseClientUrls',
  ETCD_DISCOVERY_SRV: 'discoverySrv',
  KEEL_NAME: 'name',
  KEEL_INITIAL_CLUSTER: 'initialCluster',
  KEEL_INITIAL_CLUSTER_STATE: 'initialClusterState',
  KEEL_INITIAL_CLUSTER_TOKEN: 'initialClusterToken',
  KEEL_LISTEN_PEER_URLS: 'listenPeerUrls',
  KEEL_INITIAL_ADVERTISE_PEER_URLS: 'initialAdvertisePeerUrls',
  KEEL_LISTEN_CLIENT_URLS: 'listenClientUrls',
  KEEL_ADVERTISE_CLIENT_URLS: 'advertiseClientUrls',
  KEEL_DISCOVERY_SRV: 'discoverySrv',
  KEEL_HTTP_PORT: 'httpPort',
};

/** ETCD_* first, KEEL_* over them, flags over both (the caller merges flags last). */
export function etcdFlagsFromEnv(env: NodeJS.ProcessEnv): EtcdStyleFlags {
  const out: EtcdStyleFlags = {};
  for (const [name, key] of Object.entries(etcdEnvNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

export function usesEtcdStyle(flags: EtcdStyleFlags): boolean {
  return Object.values(flags).some((v) => v !== undefined);
}

/** A member's id: etcd derives it from peer URLs and the cluster token; so does Keel. */
export function memberIdOf(peerUrl: string, clusterToken: string): number {
  const digest = createHash('sha256').update(`${clusterToken}/${peerUrl}`).digest();
  const id = digest.readUIntBE(0, 6);
  return id === 0 ? 1 : id;
}

interface ParsedUrl {
  host: string;
  port: number;
  text: string;
}

function parseUrl(text: string, flag: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`${flag}: "${text}" is not a URL like http://10.0.0.1:2380`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${flag}: "${text}" must be an http:// or https:// URL`);
  if (url.port === '') throw new Error(`${flag}: "${text}" must name a port`);
  if (url.pathname !== '/' || url.search !== '') throw new Error(`${flag}: "${text}" must have no path`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(url.port), text: `${url.protocol}//${url.host}` };
}

function singleUrl(value: string, flag: string): ParsedUrl {
  const urls = value.split(',').filter((u) => u.trim() !== '');
  if (urls.length !== 1) throw new Error(`${flag}: Keel serves one URL per node; give exactly one, got ${urls.length}`);
  return parseUrl(urls[0] as string, flag);
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${flag} must be a port in 1..65535, got ${JSON.stringify(value)}`);
  return port;
}

export interface InitialMember {
  name: string;
  peerUrl: string;
}

/** `name=peerURL,...` as etcd's --initial-cluster. */
export function parseInitialCluster(value: string): InitialMember[] {
  const members = value
    .split(',')
    .filter((p) => p.trim() !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new Error(`--initial-cluster: "${part}" must look like name=http://host:2380`);
      const name = part.slice(0, eq).trim();
      return { name, peerUrl: parseUrl(part.slice(eq + 1), '--initial-cluster').text };
    });
  if (members.length === 0) throw new Error('--initial-cluster: give at least one member');
  const names = new Set(members.map((m) => m.name));
  if (names.size !== members.length) throw new Error('--initial-cluster: every member name must be unique');
  const urls = new Set(members.map((m) => m.peerUrl));
  if (urls.size !== members.length) throw new Error('--initial-cluster: every peer URL must be unique');
  return members;
}

/**
 * DNS SRV discovery as etcd's --discovery-srv: the peers are the targets of
 * `_etcd-server-ssl._tcp.DOMAIN` (https) and `_etcd-server._tcp.DOMAIN` (http).
 * `dnsServers` lets a test point at its own server; by default the system's are used.
 */
export async function discoverInitialCluster(domain: string, dnsServers?: readonly string[]): Promise<string> {
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  if (dnsServers) resolver.setServers([...dnsServers]);
  const found: string[] = [];
  for (const [service, scheme] of [
    ['_etcd-server-ssl._tcp', 'https'],
    ['_etcd-server._tcp', 'http'],
  ] as const) {
    try {
      for (const record of await resolver.resolveSrv(`${service}.${domain}`)) {
        const host = record.name.replace(/\.$/, '');
        // The target name is the member's name, as etcd does for members it discovers.
        found.push(`${host}=${scheme}://${host}:${record.port}`);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTFOUND' && code !== 'ENODATA') throw new Error(`--discovery-srv: looking up ${service}.${domain} failed: ${(error as Error).message}`);
    }
  }
  if (found.length === 0) throw new Error(`--discovery-srv: no _etcd-server-ssl._tcp or _etcd-server._tcp SRV records for ${domain}`);
  return found.join(',');
}

/**
 * Keel settings from etcd-style flags. `initialCluster` must be resolved already (from
 * the flag or from DNS SRV discovery).
 */
export function settingsFromEtcdFlags(flags: EtcdStyleFlags): RawSettings {
  if (flags.initialCluster === undefined) throw new Error('--initial-cluster (or --discovery-srv) must be given with etcd-style flags');
  if (flags.name === undefined || flags.name === '') throw new Error('--name must be given with --initial-cluster');
  const token = flags.initialClusterToken ?? 'etcd-cluster';
  const state = flags.initialClusterState ?? 'new';
  if (state !== 'new' && state !== 'existing') throw new Error(`--initial-cluster-state must be new or existing, got ${JSON.stringify(state)}`);
  const members = parseInitialCluster(flags.initialCluster);
  const advertised = flags.initialAdvertisePeerUrls !== undefined ? singleUrl(flags.initialAdvertisePeerUrls, '--initial-advertise-peer-urls').text : undefined;
  // Members found through DNS SRV are named after their targets, so, as etcd does, this
  // node is also recognised by its advertised peer URL.
  const self = members.find((m) => m.name === flags.name) ?? members.find((m) => m.peerUrl === advertised);
  if (!self)
    throw new Error(
      `--name ${flags.name} is not in --initial-cluster (${members.map((m) => m.name).join(', ')}) and no member has its --initial-advertise-peer-urls`,
    );
  if (advertised !== undefined && advertised !== self.peerUrl)
    throw new Error(`--initial-advertise-peer-urls ${advertised} differs from ${flags.name}'s URL in --initial-cluster (${self.peerUrl})`);
  const selfPeer = parseUrl(self.peerUrl, '--initial-cluster');
  // Keel's peer port is the advertised one (the member list holds one port per member);
  // only the listening host may differ, e.g. 0.0.0.0.
  const listenPeer = flags.listenPeerUrls !== undefined ? singleUrl(flags.listenPeerUrls, '--listen-peer-urls') : undefined;
  if (listenPeer && listenPeer.port !== selfPeer.port)
    throw new Error(`--listen-peer-urls port ${listenPeer.port} differs from the advertised peer port ${selfPeer.port}`);
  const listenClient = flags.listenClientUrls !== undefined ? singleUrl(flags.listenClientUrls, '--listen-client-urls') : undefined;
  const clientUrlPort = listenClient?.port ?? defaultClientPort;
  if (flags.advertiseClientUrls !== undefined) {
    const advertised = singleUrl(flags.advertiseClientUrls, '--advertise-client-urls');
    if (advertised.port !== clientUrlPort)
      throw new Error(`--advertise-client-urls port ${advertised.port} differs from --listen-client-urls port ${clientUrlPort}`);
  }
  const httpPort = flags.httpPort !== undefined ? parsePort(flags.httpPort, '--http-port') : undefined;
  if (httpPort === clientUrlPort) throw new Error(`--http-port ${httpPort} is the client port already; choose another or leave it out`);
  // With --http-port, Keel's REST URL (clientPort) is that port and etcd's client URL
  // (grpcPort) the --listen-client-urls one, as before the one client port; both serve everything.
  const ports = httpPort !== undefined ? { clientPort: httpPort, grpcPort: clientUrlPort } : { clientPort: clientUrlPort };
  const memberList = members.map((m) => {
    const peer = parseUrl(m.peerUrl, '--initial-cluster');
    if (peer.port === clientUrlPort || peer.port === httpPort) throw new Error(`--initial-cluster: ${m.name}'s peer port ${peer.port} is a client port too`);
    return { id: memberIdOf(m.peerUrl, token), name: m.name, host: peer.host, peerPort: peer.port, ...ports };
  });
  const ids = new Set(memberList.map((m) => m.id));
  if (ids.size !== memberList.length) throw new Error('--initial-cluster: two peer URLs hash to the same member id; change one');
  return {
    id: memberIdOf(self.peerUrl, token),
    clusterId: token,
    members: memberList,
    join: state === 'existing',
    ...(listenClient ? { listenHost: listenClient.host } : {}),
    ...(listenPeer ? { peerListenHost: listenPeer.host } : {}),
  };
}
