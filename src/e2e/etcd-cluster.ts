/**
 * A real etcd cluster (Debian's etcd-server, see scripts/setup-ci.sh) on 127.0.0.1, for
 * measuring Keel beside etcd with one tool and for checking that Keel's etcd tools
 * work against the real thing. Each member has its own free ports and a data
 * directory under `dir`, which the caller owns and removes. `stop` kills every member
 * (and a process 'exit' hook does, if the caller never gets to it).
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdGrpcClient } from '../client/index.js';
import { freePorts, requireTool, waitFor } from '../harness/index.js';
import type { TlsBundleFiles } from '../tls/index.js';

export interface EtcdCluster {
  /** host:port of each member's client (gRPC) port. */
  readonly endpoints: readonly string[];
  /** The process id of each running member. */
  pids(): number[];
  stop(): Promise<void>;
  /** kill -9 of member `index` (0-based); resolves when it has exited. */
  kill(index: number): Promise<void>;
  /** Starts member `index` again on its data directory (it must not be running); does not wait for it to serve. */
  start(index: number): void;
}

const host = '127.0.0.1';
const clusterToken = 'keel-side-by-side';
const runFile = promisify(execFile);
const readyTimeoutMs = 60_000;
const stopTimeoutMs = 10_000;
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The path of etcd; without it this fails at once, naming scripts/setup-ci.sh. */
export async function ensureEtcd(): Promise<string> {
  return requireTool('etcd', 'etcd-server');
}

/**
 * `tls`: serve clients over TLS with etcd's --cert-file, --key-file, --trusted-ca-file and --client-cert-auth.
 * `restoreFrom`: an etcd snapshot file each member's data directory is made from first, with `etcdctl snapshot restore`.
 * `extraArgs`: further etcd flags for every member (e.g. --quota-backend-bytes).
 */
export async function startEtcdCluster(options: {
  readonly size: number;
  readonly dir: string;
  readonly tls?: TlsBundleFiles;
  readonly restoreFrom?: string;
  readonly extraArgs?: readonly string[];
}): Promise<EtcdCluster> {
  const tls = options.tls;
  const clientScheme = tls ? 'https' : 'http';
  const tlsArgs = tls ? [`--cert-file=${tls.serverCertFile}`, `--key-file=${tls.serverKeyFile}`, `--trusted-ca-file=${tls.caFile}`, '--client-cert-auth'] : [];
  const binary = await ensureEtcd();
  const ports = await freePorts(options.size * 2);
  const members = Array.from({ length: options.size }, (_, i) => ({
    name: `etcd${i + 1}`,
    clientPort: ports[i] as number,
    peerPort: ports[options.size + i] as number,
  }));
  const initialCluster = members.map((m) => `${m.name}=http://${host}:${m.peerPort}`).join(',');
  if (options.restoreFrom !== undefined) {
    const etcdctl = await requireTool('etcdctl', 'etcd-client');
    for (const m of members) {
      const args = [
        'snapshot',
        'restore',
        options.restoreFrom,
        `--name=${m.name}`,
        `--data-dir=${join(options.dir, m.name)}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-advertise-peer-urls=http://${host}:${m.peerPort}`,
        `--initial-cluster-token=${clusterToken}`,
      ];
      await runFile(etcdctl, args, { env: { ETCDCTL_API: '3', PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    }
  }
  const spawnMember = (m: (typeof members)[number]): ChildProcess => {
    const log = openSync(join(options.dir, `${m.name}.log`), 'a');
    const child = spawn(
      binary,
      [
        `--name=${m.name}`,
        `--data-dir=${join(options.dir, m.name)}`,
        `--listen-client-urls=${clientScheme}://${host}:${m.clientPort}`,
        `--advertise-client-urls=${clientScheme}://${host}:${m.clientPort}`,
        ...tlsArgs,
        `--listen-peer-urls=http://${host}:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://${host}:${m.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${clusterToken}`,
        '--log-level=warn',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    closeSync(log);
    live.add(child);
    child.once('exit', () => live.delete(child));
    return child;
  };
  const children = members.map(spawnMember);
  const kill = async (index: number): Promise<void> => {
    const child = children[index];
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd member ${index + 1} is not running`);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  const start = (index: number): void => {
    const child = children[index];
    const member = members[index];
    if (!child || !member) throw new Error(`no etcd member ${index + 1}`);
    if (child.exitCode === null && child.signalCode === null) throw new Error(`etcd member ${index + 1} is running`);
    children[index] = spawnMember(member);
  };
  const endpoints = members.map((m) => `${host}:${m.clientPort}`);
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    // Ready when every member serves a linearizable read (which needs a leader).
    await Promise.all(
      endpoints.map(async (endpoint) => {
        const client = new EtcdGrpcClient(
          endpoint,
          2_000,
          tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) } : undefined,
        );
        try {
          await waitFor(
            async () => {
              const exited = children.find((c) => c.exitCode !== null);
              if (exited) throw new Error(`an etcd member exited with code ${exited.exitCode}`);
              await client.get('keel-ready-probe');
              return true;
            },
            { timeoutMs: readyTimeoutMs, what: `etcd member ${endpoint} serving reads`, intervalMs: 100, explain: async () => logTails(options.dir, members) },
          );
        } finally {
          client.close();
        }
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const pids = (): number[] =>
    children.flatMap((child) => (child.pid !== undefined && child.exitCode === null && child.signalCode === null ? [child.pid] : []));
  return { endpoints, pids, stop, kill, start };
}

function logTails(dir: string, members: readonly { name: string }[]): string {
  return members
    .map((m) => {
      try {
        return `${m.name}.log:\n${readFileSync(join(dir, `${m.name}.log`), 'utf8')
          .split('\n')
          .slice(-10)
          .join('\n')}`;
      } catch {
        return `${m.name}.log: (none)`;
      }
    })
    .join('\n');
}
