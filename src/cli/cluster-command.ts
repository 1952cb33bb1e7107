/**
 * `keel cluster up` starts a local cluster of real node processes on loopback and
 * supervises it; `keel cluster down` stops one started with --detach. The cluster's
 * processes are recorded in <data-dir>/cluster.json.
 */
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor } from './supervisor.js';
import { registerClusterSecret } from './secret-command.js';
import { NODE_RUNTIME_FLAGS, storedSecretName, writeNewSecretFile } from '../server/index.js';
import type { TlsBundle } from '../tls/index.js';
import { fetchWithTls, type FetchFunction } from '../client/index.js';

interface UpFlags {
  nodes: string;
  dataDir: string;
  basePort: string;
  detach?: boolean;
  enableFaultInjection?: boolean;
  logLevel: string;
  tls?: boolean;
}

interface ClusterFile {
  readonly pids: number[];
  readonly endpoints: string[];
}

const host = '127.0.0.1';
const mainScript = fileURLToPath(new URL('./main.js', import.meta.url));
const leaderWaitMs = 30_000;
const stopWaitMs = 10_000;

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('run a local cluster of real node processes');
  cluster
    .command('up')
    .description('start a local cluster on 127.0.0.1 and wait for a leader')
    .option('--nodes <n>', 'number of nodes (3 or 5)', '3')
    .option('--data-dir <dir>', 'data directory (one sub-directory per node)', './data')
    .option('--base-port <port>', 'client ports (HTTP and etcd gRPC) are base..base+n-1, peer ports base+100..', '7001')
    .option('--detach', 'leave the cluster running in the background; stop it with keel cluster down')
    .option('--enable-fault-injection', 'let tests and the dashboard inject network faults')
    .option('--log-level <level>', 'node log level', 'info')
    .option('--tls', 'client TLS with --client-cert-auth: a throwaway CA, server and client certificates under <data-dir>/tls')
    .action(async (flags: UpFlags) => up(flags));
  cluster
    .command('down')
    .description('stop a cluster started with keel cluster up --detach')
    .option('--data-dir <dir>', 'data directory of the cluster', './data')
    .action(async (flags: { dataDir: string }) => down(resolve(flags.dataDir)));
  registerClusterSecret(cluster);
}

async function up(flags: UpFlags): Promise<void> {
  const count = Number(flags.nodes);
  if (count !== 3 && count !== 5) throw new Error(`--nodes must be 3 or 5, got ${flags.nodes}`);
  const basePort = Number(flags.basePort);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 100 + count > 65535) throw new Error(`--base-port must be in 1024..65000`);
  const dataDir = resolve(flags.dataDir);
  const clusterFile = join(dataDir, 'cluster.json');
  if (existsSync(clusterFile)) {
    throw new Error(`${clusterFile} exists: a cluster may already be running from ${dataDir}; run keel cluster down --data-dir ${flags.dataDir} first`);
  }
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const clientPort = (id: number): number => basePort + id - 1;
  const peerPort = (id: number): number => basePort + 100 + id - 1;
  for (const id of ids) for (const port of [clientPort(id), peerPort(id)]) await assertPortFree(port);
  const members = ids.map((id) => `${id}=${host}:${peerPort(id)}:${clientPort(id)}`).join(',');
  mkdirSync(dataDir, { recursive: true });
  // One cluster secret for all its nodes (each copies it into its own data directory).
  const secretFile = join(dataDir, storedSecretName);
  if (!existsSync(secretFile)) await writeNewSecretFile(secretFile);
  // Made again at every start: the CA's key is never written, so nobody can sign more.
  const tls = flags.tls ? await writeClusterTls(join(dataDir, 'tls'), host) : undefined;
  const scheme = tls ? 'https' : 'http';
  const endpoints = ids.map((id) => `${scheme}://${host}:${clientPort(id)}`);
  const tlsArgs = tls ? ['--cert-file', tls.serverCertFile, '--key-file', tls.serverKeyFile, '--trusted-ca-file', tls.caFile, '--client-cert-auth'] : [];
  const fetchHealth = fetchWithTls(
    tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) } : undefined,
  );
  let supervisorUrl: string | undefined;
  const supervisor = new Supervisor({
    ids,
    spawnNode: (id) => {
      const args = [
        mainScript,
        'start',
        '--id',
        String(id),
        '--members',
        members,
        '--data-dir',
        join(dataDir, `node${id}`),
        '--peer-secret-file',
        secretFile,
        '--log-level',
        flags.logLevel,
      ];
      if (flags.enableFaultInjection) args.push('--enable-fault-injection');
      args.push(...tlsArgs);
      if (supervisorUrl) args.push('--supervisor-url', supervisorUrl);
      const logFd = openSync(join(dataDir, `node${id}.log`), 'a');
      return spawn(process.execPath, [...NODE_RUNTIME_FLAGS, ...args], { stdio: ['ignore', logFd, logFd], detached: flags.detach === true });
    },
    allowedOrigins: new Set(endpoints),
    onExit: (id, how, expected) => {
      if (!expected) console.error(`node ${id} exited (${how}); see ${join(flags.dataDir, `node${id}.log`)}`);
    },
    onChange: () => writeFileSync(clusterFile, JSON.stringify({ pids: supervisor.pids(), endpoints } satisfies ClusterFile, null, 2)),
  });
  // A detached cluster outlives this process, so nothing is left to supervise it.
  if (!flags.detach) supervisorUrl = await supervisor.listen();
  supervisor.startAll();
  const children = supervisor.processes();
  let leader: number;
  try {
    leader = await waitForLeader(endpoints, children, fetchHealth);
  } catch (error) {
    await supervisor.close();
    await stopChildren(children);
    rmSync(clusterFile, { force: true });
    throw error;
  }
  console.log(`Keel cluster of ${count} nodes is up; node ${leader} leads.`);
  for (const id of ids) {
    console.log(`  node ${id}  ${endpoints[id - 1]}  data ${join(flags.dataDir, `node${id}`)}  log ${join(flags.dataDir, `node${id}.log`)}`);
  }
  // The supervisor's token rides in the fragment, which the browser never sends anywhere.
  const dashboard = flags.detach ? `${endpoints[0]}/ui/` : `${endpoints[0]}/ui/#supervisor-token=${supervisor.token}`;
  console.log(`\nDashboard: ${dashboard}  (served by every node)`);
  // One client port a node: etcdctl takes the same URLs as curl and keel.
  if (tls) {
    printTlsCommands(flags.dataDir, endpoints);
  } else {
    console.log(
      `\nTry:\n  export KEEL_ENDPOINTS=${endpoints.join(',')}\n  npx keel put greeting hello && npx keel get greeting\n  curl -X PUT --data hello ${endpoints[0]}/kv/greeting`,
    );
    console.log(`  ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(',')} get greeting`);
  }
  if (flags.detach) {
    for (const child of children) child.unref();
    console.log(`\nRunning in the background: stop it with  npx keel cluster down --data-dir ${flags.dataDir}`);
    return;
  }
  console.log(`\nCtrl-C stops the cluster. Supervisor (kill and restart nodes from the dashboard): ${supervisorUrl}`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      void supervisor
        .close()
        .then(() => stopChildren(supervisor.processes()))
        .then(() => {
          rmSync(clusterFile, { force: true });
          console.log('cluster stopped');
          done();
        });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function down(dataDir: string): Promise<void> {
  const clusterFile = join(dataDir, 'cluster.json');
  if (!existsSync(clusterFile)) throw new Error(`no cluster is recorded in ${clusterFile}`);
  const { pids } = JSON.parse(readFileSync(clusterFile, 'utf8')) as ClusterFile;
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + stopWaitMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  rmSync(clusterFile, { force: true });
  console.log(`stopped ${pids.length} nodes`);
}

/** The commands to try, with the bundle's files as given (relative to where `cluster up` ran). */
function printTlsCommands(dataDirFlag: string, endpoints: readonly string[]): void {
  const file = (name: string): string => shellWord(join(dataDirFlag, 'tls', name));
  const curlTls = `--cacert ${file('ca.pem')} --cert ${file('client.pem')} --key ${file('client-key.pem')}`;
  console.log(`\nClient TLS is on; clients need the CA and the client certificate (CN root) in ${shellWord(join(dataDirFlag, 'tls'))}. Try:`);
  console.log(
    `  export KEEL_ENDPOINTS=${endpoints.join(',')} KEEL_CACERT=${file('ca.pem')} KEEL_CERT=${file('client.pem')} KEEL_KEY=${file('client-key.pem')}`,
  );
  console.log(`  npx keel put greeting hello && npx keel get greeting`);
  console.log(`  curl ${curlTls} -X PUT --data hello ${endpoints[0]}/kv/greeting`);
  console.log(`  ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(',')} ${curlTls} get greeting`);
}

/** A path as one shell word. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

async function waitForLeader(endpoints: readonly string[], children: readonly ChildProcess[], fetchHealth: FetchFunction): Promise<number> {
  const deadline = Date.now() + leaderWaitMs;
  while (Date.now() < deadline) {
    const dead = children.findIndex((c) => c.exitCode !== null);
    if (dead >= 0) throw new Error(`node ${dead + 1} exited during start-up (code ${children[dead]?.exitCode}); see its log`);
    const leaders = await Promise.all(endpoints.map((endpoint) => healthLeader(endpoint, fetchHealth)));
    const first = leaders[0];
    if (first && leaders.every((l) => l === first)) return first;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no leader within ${leaderWaitMs / 1000} s; see the node logs`);
}

async function healthLeader(endpoint: string, fetch: FetchFunction): Promise<number | undefined> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return undefined;
    return ((await response.json()) as { leader: number }).leader;
  } catch {
    return undefined;
  }
}

async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), stopWaitMs);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', () => fail(new Error(`port ${port} on ${host} is in use; choose another --base-port or stop what uses it`)));
    server.listen(port, host, () => server.close(() => done()));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * The throwaway CA, server and client certificates of `--tls`. Loaded only then: `keel`
 * is one program, and the X.509 library would otherwise be loaded by every `keel start`.
 */
async function writeClusterTls(dir: string, host: string): Promise<TlsBundle> {
  const [{ writeTlsBundle }, { hostsFor }] = await Promise.all([import('../tls/tls-bundle.js'), import('../tls/certificates.js')]);
  return writeTlsBundle(dir, { serverHosts: hostsFor(host), clientCommonName: 'root' });
}
