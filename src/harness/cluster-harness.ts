/**
 * A cluster of real `keel start` processes on 127.0.0.1, for end-to-end tests.
 *
 * Each node has its own ports (free, and kept across restarts, see free-ports.ts) and
 * its own temporary data directory (which also holds the node's log, appended to by
 * every start). Nodes can be killed (-9), stopped (SIGTERM, which must exit 0) and
 * started again on the same ports and data. Every wait is for a condition the nodes
 * report over HTTP, with a deadline.
 *
 * Clean-up is unconditional: `withCluster` kills every process and removes every
 * directory whatever the test did, and a process 'exit' hook kills any node a crashed
 * test run left behind. A node that exits when the test did not ask it to is a crash,
 * and fails the test (with the tail of its log).
 */
import type { NodeStatusJson } from '../wire/index.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.js';
import type { PortRange } from './free-ports.js';
import { NODE_RUNTIME_FLAGS, storedSecretName, writeNewSecretFile } from '../server/index.js';
import { http, tryHttp } from './http.js';
import { waitFor } from './wait-for.js';
import type { TlsBundleFiles } from '../tls/index.js';
import { fetchWithTls, type FetchFunction } from '../client/index.js';

export const mainScript = fileURLToPath(new URL('../cli/main.js', import.meta.url));
export const host = '127.0.0.1';

export interface ClusterOptions {
  readonly size?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly requestTimeoutMs?: number;
  readonly snapshotEveryEntries?: number;
  readonly snapshotCatchUpEntries?: number;
  /** NodeConfig.snapshotLogPercent: 0 lets snapshotEveryEntries alone decide, for tests of snapshots on small stores. */
  readonly snapshotLogPercent?: number;
  /** Further settings as KEEL_* variables (e.g. KEEL_VALUE_BYTES_MAX). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Fills the nodes' (empty) data directories before the first start, given the
   * `--members` list they start with (e.g. `keel snapshot restore` into each).
   */
  readonly seedDataDirs?: (nodes: readonly ClusterNode[], members: string) => Promise<void>;
  /** Where each node runs (default: 127.0.0.1, in this network namespace). */
  readonly placement?: NodePlacement;
  /** The ports the nodes may take, nodes added later included (default: free-ports.ts's range). */
  readonly ports?: PortRange;
  /** The directory node `id`'s data directory is made in (default: the system's temp dir),
   * e.g. a small file system of the test's own. */
  readonly dataParent?: (id: number) => string;
  /** Start the nodes with a cluster secret (default true). Without, they need mutual
   * TLS on the peer port, given through `env` (KEEL_PEER_CERT_FILE and so on). */
  readonly peerSecret?: boolean;
  /**
   * Client TLS on every node (HTTP and gRPC) with these files; the harness's own
   * requests then use the CA and the client certificate. Default: plain text.
   */
  readonly tls?: HarnessTls;
}

export interface HarnessTls {
  readonly files: TlsBundleFiles;
  /** Start the nodes with --client-cert-auth (clients need the bundle's client certificate). */
  readonly clientCertAuth: boolean;
}

/**
 * Where node `id` lives: the address it binds to, and the command prefix that runs
 * a program there (`ip netns exec NS` for a network namespace; [] for here). The
 * prefix must exec the program in place, so the child's pid is the node's.
 */
export interface NodePlacement {
  host(id: number): string;
  launcher(id: number): readonly string[];
}

const loopbackPlacement: NodePlacement = { host: () => host, launcher: () => [] };

/** What GET /status answers. */
export type NodeStatus = NodeStatusJson;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const defaults = {
  size: 3,
  tickMs: 20,
  electionTicks: 15,
  requestTimeoutMs: 2_000,
} as const;

/**
 * How long a node may take to start answering HTTP, and to stop on SIGTERM. Start-up
 * is generous: with the machine's load average above 30 (several test suites on two
 * cores), nodes were measured taking more than 15 s of wall time to answer /status.
 */
const startTimeoutMs = 60_000;
const stopTimeoutMs = 10_000;
const logTailLines = 25;

/** Every child of this process, killed if the test process exits with them alive. */
const liveChildren = new Set<ChildProcess>();
const killLiveChildren = (): void => {
  for (const child of liveChildren) child.kill('SIGKILL');
};
process.once('exit', killLiveChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killLiveChildren();
    // The handler is gone now: the signal's default action ends this process.
    process.kill(process.pid, signal);
  });
}

export class ClusterNode {
  readonly url: string;
  /** host:port of the node's etcd v3 gRPC API (what etcdctl --endpoints takes): its one client port. */
  readonly grpcEndpoint: string;
  child: ChildProcess | undefined;
  exited: Promise<Exit> | undefined;
  /** Set before the harness kills or stops the node, so its exit is not a crash. */
  exitExpected = false;
  /** Paused with SIGSTOP: alive, but answers nothing until resumed. */
  suspended = false;
  /** Removed from the cluster (its removal applied): it is never started again. */
  removed = false;
  starts = 0;
  /** Where the log of the current (or last) start begins. */
  logOffset = 0;

  constructor(
    readonly id: number,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly grpcPort: number,
    readonly dataDir: string,
    readonly host: string,
    /** Started with --join and its own member list: a node added to a running cluster. */
    readonly joins: { readonly members: string } | undefined = undefined,
    scheme: 'http' | 'https' = 'http',
  ) {
    this.url = `${scheme}://${host}:${clientPort}`;
    this.grpcEndpoint = `${host}:${grpcPort}`;
  }

  /** This node's member spec, `id=host:peerPort:clientPort` (with `:grpcPort` if it has a second client port). */
  get spec(): string {
    const second = this.grpcPort === this.clientPort ? '' : `:${this.grpcPort}`;
    return `${this.id}=${this.host}:${this.peerPort}:${this.clientPort}${second}`;
  }

  get peerUrl(): string {
    return `http://${this.host}:${this.peerPort}`;
  }

  get logPath(): string {
    return join(this.dataDir, 'node.log');
  }

  /** Alive and not suspended: it answers requests. */
  get running(): boolean {
    return this.child !== undefined && !this.suspended;
  }

  /** The process id of the running node. */
  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`node ${this.id} is not running`);
    return pid;
  }

  /** The node's log since its last start. */
  logSinceStart(): string {
    try {
      return readFileSync(this.logPath).subarray(this.logOffset).toString('utf8');
    } catch {
      return '';
    }
  }
}

export class Cluster {
  readonly crashes: string[] = [];
  private destroyed: Promise<void> | undefined;

  private constructor(
    /** Grows with addNode. */
    readonly nodes: ClusterNode[],
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    readonly requestTimeoutMs: number,
    private readonly placement: NodePlacement,
    private readonly portRange: PortRange | undefined,
    /** Holds the cluster secret file every node (joining ones too) starts with. */
    private readonly secretDir: string,
    /** How the harness reaches the nodes' HTTP API (with the bundle's CA and client certificate under TLS). */
    readonly fetch: FetchFunction,
  ) {}

  /** The cluster secret file the nodes start with (--peer-secret-file). */
  get peerSecretFile(): string {
    return join(this.secretDir, storedSecretName);
  }

  /** Starts every node and waits for a leader that all of them follow. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const size = options.size ?? defaults.size;
    const placement = options.placement ?? loopbackPlacement;
    // Two ports a node: the client port (HTTP and gRPC alike) and the peer port.
    const ports = await freePorts(2 * size, options.ports);
    const nodes: ClusterNode[] = [];
    // Peers authenticate with a cluster secret: one per cluster, as an operator makes it.
    const secretDir = await mkdtemp(join(tmpdir(), 'keel-e2e-secret-'));
    try {
      await writeNewSecretFile(join(secretDir, storedSecretName));
      for (let i = 0; i < size; i++) {
        const dir = await mkdtemp(join(options.dataParent?.(i + 1) ?? tmpdir(), `keel-e2e-n${i + 1}-`));
        const scheme = options.tls ? 'https' : 'http';
        const clientPort = ports[2 * i] as number;
        nodes.push(new ClusterNode(i + 1, clientPort, ports[2 * i + 1] as number, clientPort, dir, placement.host(i + 1), undefined, scheme));
      }
    } catch (error) {
      await Promise.all([secretDir, ...nodes.map((n) => n.dataDir)].map((dir) => rm(dir, { recursive: true, force: true })));
      throw error;
    }
    const members = nodes.map((n) => n.spec).join(',');
    const requestTimeoutMs = options.requestTimeoutMs ?? defaults.requestTimeoutMs;
    const args = [
      '--members',
      members,
      '--cluster-id',
      `e2e-${process.pid}`,
      '--tick-ms',
      String(options.tickMs ?? defaults.tickMs),
      '--election-ticks',
      String(options.electionTicks ?? defaults.electionTicks),
      '--request-timeout-ms',
      String(requestTimeoutMs),
      '--enable-fault-injection',
      '--log-level',
      'info',
      ...(options.peerSecret === false ? [] : ['--peer-secret-file', join(secretDir, storedSecretName)]),
      ...(options.snapshotEveryEntries !== undefined ? ['--snapshot-every-entries', String(options.snapshotEveryEntries)] : []),
      ...(options.snapshotCatchUpEntries !== undefined ? ['--snapshot-catch-up-entries', String(options.snapshotCatchUpEntries)] : []),
      ...(options.snapshotLogPercent !== undefined ? ['--snapshot-log-percent', String(options.snapshotLogPercent)] : []),
      ...(options.tls ? tlsArgs(options.tls) : []),
    ];
    // Only the settings a test chooses: none leak in from the environment running it.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEEL_')));
    Object.assign(env, options.env);
    const cluster = new Cluster(nodes, args, env, requestTimeoutMs, placement, options.ports, secretDir, harnessFetch(options.tls));
    try {
      await options.seedDataDirs?.(nodes, members);
      await Promise.all(nodes.map((n) => cluster.startNode(n.id)));
      await cluster.waitForLeader();
    } catch (error) {
      const failure = await cluster.failWith(error);
      await cluster.destroy();
      throw failure;
    }
    return cluster;
  }

  node(id: number): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id} in this cluster`);
    return node;
  }

  url(id: number): string {
    return this.node(id).url;
  }

  /** Every node's gRPC endpoint, comma-separated, as etcdctl --endpoints takes them. */
  grpcEndpoints(): string {
    return this.members()
      .map((n) => n.grpcEndpoint)
      .join(',');
  }

  runningIds(): number[] {
    return this.nodes.filter((n) => n.running).map((n) => n.id);
  }

  /** The ids of members(). */
  memberIds(): number[] {
    return this.members().map((n) => n.id);
  }

  /** The nodes still members of the cluster, running or not (every node but the removed ones). */
  members(): ClusterNode[] {
    return this.nodes.filter((n) => !n.removed);
  }

  /** A running node chosen at random (writes and reads "through random nodes"). */
  randomRunningUrl(): string {
    const running = this.nodes.filter((n) => n.running);
    if (running.length === 0) throw new Error('no node is running');
    return (running[Math.floor(Math.random() * running.length)] as ClusterNode).url;
  }

  // ---------------------------------------------------------------------------
  // Processes
  // ---------------------------------------------------------------------------

  /**
   * Starts node `id` (again: same ports, same data) and waits until it answers HTTP.
   * `extraEnv` is for this start only (e.g. LD_PRELOAD of a fake clock).
   */
  async startNode(id: number, extraEnv: Readonly<Record<string, string>> = {}): Promise<void> {
    const node = this.node(id);
    const child = this.spawnNode(node, extraEnv);
    await waitFor(
      async () => {
        if (node.child !== child) throw new Error(`node ${id} exited during start-up; its log ends:\n${logTail(node)}`);
        return (await tryHttp(`${node.url}/status`, { timeoutMs: 1_000, fetch: this.fetch }))?.status === 200;
      },
      { timeoutMs: startTimeoutMs, what: `node ${id} to answer GET /status` },
    );
  }

  /** Starts node `id` (again) when it is expected to stop by itself (a removed member); resolves with its exit. */
  startNodeExpectingExit(id: number): Promise<Exit> {
    const node = this.node(id);
    this.spawnNode(node);
    node.exitExpected = true;
    return node.exited as Promise<Exit>;
  }

  private spawnNode(node: ClusterNode, extraEnv: Readonly<Record<string, string>> = {}): ChildProcess {
    const id = node.id;
    if (node.running) throw new Error(`node ${id} is already running`);
    node.logOffset = fileSize(node.logPath);
    node.exitExpected = false;
    node.starts++;
    const logFd = openSync(node.logPath, 'a');
    let child: ChildProcess;
    try {
      const joinArgs = node.joins ? ['--join', '--members', node.joins.members] : [];
      // A later --members overrides the cluster's (commander keeps the last value).
      const [command, ...argv] = [
        ...this.placement.launcher(id),
        process.execPath,
        ...NODE_RUNTIME_FLAGS,
        mainScript,
        'start',
        '--id',
        String(id),
        '--data-dir',
        node.dataDir,
        ...this.args,
        ...joinArgs,
      ] as [string, ...string[]];
      child = spawn(command, argv, { stdio: ['ignore', logFd, logFd], env: { ...this.env, ...extraEnv } });
    } finally {
      closeSync(logFd);
    }
    liveChildren.add(child);
    node.child = child;
    node.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        if (node.child === child) node.child = undefined;
        if (!node.exitExpected) this.crashes.push(`node ${id} exited by itself (${signal ?? `code ${code}`}); its log ends:\n${logTail(node)}`);
        resolve({ code, signal });
      });
    });
    return child;
  }

  /**
   * Makes a node that will join this cluster as `id` (after a member add names it):
   * fresh ports and data directory, started with --join and the members of `members`
   * (default: every member so far) plus itself. Start it with startNode.
   */
  async addNode(id: number, members: readonly ClusterNode[] = this.members()): Promise<ClusterNode> {
    if (this.nodes.some((n) => n.id === id)) throw new Error(`node ${id} is already in this cluster`);
    const [clientPort, peerPort] = (await freePorts(2, this.portRange)) as [number, number];
    const dir = await mkdtemp(join(tmpdir(), `keel-e2e-n${id}-`));
    const nodeHost = this.placement.host(id);
    const spec = `${id}=${nodeHost}:${peerPort}:${clientPort}`;
    const node = new ClusterNode(id, clientPort, peerPort, clientPort, dir, nodeHost, { members: [...members.map((n) => n.spec), spec].join(',') });
    this.nodes.push(node);
    return node;
  }

  /** A node that will exit by itself (removed from the cluster): its exit is not a crash. */
  expectExit(id: number): Promise<Exit> {
    const node = this.node(id);
    if (!node.exited) throw new Error(`node ${id} is not running`);
    node.exitExpected = true;
    return node.exited;
  }

  /** Node `id`'s removal from the cluster applied and it has exited: it is no member any more. */
  markRemoved(id: number): void {
    const node = this.node(id);
    if (node.child) throw new Error(`node ${id} is still running; a removed node stops by itself first`);
    node.removed = true;
  }

  /** kill -9: the node loses nothing it fsynced, and nothing else is flushed. */
  async kill(id: number): Promise<Exit> {
    return this.signal(id, 'SIGKILL');
  }

  /** SIGTERM: a graceful stop, which must end with exit code 0 within stopTimeoutMs. */
  async stop(id: number): Promise<void> {
    const node = this.node(id);
    const child = node.child;
    if (!child || !node.exited) throw new Error(`node ${id} is not running`);
    node.exitExpected = true;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      node.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (exit === undefined) {
      child.kill('SIGKILL');
      await node.exited;
      throw new Error(`node ${id} did not stop within ${stopTimeoutMs} ms of SIGTERM; its log ends:\n${logTail(node)}`);
    }
    if (exit.code !== 0) throw new Error(`node ${id} stopped on SIGTERM with ${exit.signal ?? `code ${exit.code}`}; its log ends:\n${logTail(node)}`);
  }

  /** SIGSTOP: the process freezes (as on a long GC pause or a stalled VM) and keeps its sockets. */
  suspend(id: number): void {
    const node = this.node(id);
    if (!node.running || !node.child) throw new Error(`node ${id} is not running`);
    node.child.kill('SIGSTOP');
    node.suspended = true;
  }

  /** SIGCONT: the process resumes where it froze, its timers long overdue. */
  resume(id: number): void {
    const node = this.node(id);
    if (!node.suspended || !node.child) throw new Error(`node ${id} is not suspended`);
    node.child.kill('SIGCONT');
    node.suspended = false;
  }

  async restart(id: number, how: 'kill' | 'stop'): Promise<void> {
    if (how === 'kill') await this.kill(id);
    else await this.stop(id);
    await this.startNode(id);
  }

  private async signal(id: number, signal: NodeJS.Signals): Promise<Exit> {
    const node = this.node(id);
    const child = node.child;
    if (!child || !node.exited) throw new Error(`node ${id} is not running`);
    node.exitExpected = true;
    child.kill(signal);
    return node.exited;
  }

  // ---------------------------------------------------------------------------
  // What the nodes say
  // ---------------------------------------------------------------------------

  async status(id: number): Promise<NodeStatus> {
    const answer = await http(`${this.url(id)}/status`, { fetch: this.fetch });
    if (answer.status !== 200) throw new Error(`GET /status of node ${id}: ${answer.status}`);
    return answer.body as NodeStatus;
  }

  async statuses(ids: readonly number[]): Promise<Map<number, NodeStatus>> {
    const all = await Promise.all(ids.map(async (id) => [id, await this.status(id)] as const));
    return new Map(all);
  }

  /** The leader with the highest term among the running nodes that answer (a deposed one may still think it leads). */
  async currentLeader(): Promise<number | undefined> {
    const answers = await Promise.all(this.runningIds().map((id) => this.status(id).catch(() => undefined)));
    const leaders = answers.filter((s) => s?.role === 'leader').sort((a, b) => (b?.term ?? 0) - (a?.term ?? 0));
    return leaders[0]?.id;
  }

  /** A one-line summary of every node, for error messages. */
  async describe(): Promise<string> {
    const lines = await Promise.all(
      this.nodes.map(async (n) => {
        if (n.removed) return `  node ${n.id}: removed from the cluster`;
        if (n.suspended) return `  node ${n.id}: suspended (SIGSTOP)`;
        if (!n.running) return `  node ${n.id}: not running`;
        const process = `pid ${n.child?.pid} ${processState(n.child?.pid)}`;
        try {
          const s = await this.status(n.id);
          return `  node ${n.id} (${process}): ${s.role} term ${s.term} leader ${s.leader} commit ${s.commit} applied ${s.applied} log ${s.firstIndex}..${s.lastIndex} revision ${s.revision}`;
        } catch (error) {
          return `  node ${n.id} (${process}): no status (${(error as Error).message})`;
        }
      }),
    );
    return `cluster at ${Date.now()} (epoch ms, as in the node logs):\n${lines.join('\n')}`;
  }

  /**
   * Waits until every node of `among` (default: the running ones) follows the same
   * leader in the same term, that leader is one of them and says it leads, and the
   * term is above `termAbove`.
   */
  async waitForLeader(options: { among?: readonly number[]; termAbove?: number; timeoutMs?: number } = {}): Promise<{ id: number; term: number }> {
    const among = options.among ?? this.runningIds();
    const termAbove = options.termAbove ?? 0;
    return waitFor(
      async () => {
        const statuses = await this.statuses(among);
        const first = statuses.get(among[0] as number) as NodeStatus;
        const leader = statuses.get(first.leader);
        if (leader?.role !== 'leader' || first.term <= termAbove) return undefined;
        for (const s of statuses.values()) if (s.leader !== first.leader || s.term !== first.term) return undefined;
        return { id: first.leader, term: first.term };
      },
      {
        timeoutMs: options.timeoutMs ?? 10_000,
        what: `a leader followed by nodes ${among.join(', ')}${termAbove ? ` in a term above ${termAbove}` : ''}`,
        explain: () => this.describe(),
      },
    );
  }

  /**
   * Waits until every node of `ids` has applied everything the leader had committed
   * when this was called (so their serializable reads see every acknowledged write).
   */
  async waitForCaughtUp(ids: readonly number[], timeoutMs = 10_000): Promise<number> {
    const leader = await this.waitForLeader({ among: this.runningIds(), timeoutMs });
    const commit = (await this.status(leader.id)).commit;
    await waitFor(
      async () => {
        const statuses = await this.statuses(ids);
        return [...statuses.values()].every((s) => s.applied >= commit);
      },
      { timeoutMs, what: `nodes ${ids.join(', ')} to apply up to the leader's commit index ${commit}`, explain: () => this.describe() },
    );
    return commit;
  }

  /** Waits until every running node reports the same commit, applied index and revision. */
  async waitForConverged(timeoutMs = 10_000): Promise<NodeStatus> {
    const ids = this.runningIds();
    return waitFor(
      async () => {
        const all = [...(await this.statuses(ids)).values()];
        const first = all[0] as NodeStatus;
        const same = all.every(
          (s) =>
            s.commit === first.commit &&
            s.applied === first.commit &&
            s.revision === first.revision &&
            s.term === first.term &&
            s.leader === first.leader &&
            s.leader !== 0,
        );
        return same ? first : undefined;
      },
      { timeoutMs, what: `nodes ${ids.join(', ')} to converge on one commit index and revision`, explain: () => this.describe() },
    );
  }

  // ---------------------------------------------------------------------------
  // The end of a test
  // ---------------------------------------------------------------------------

  assertNoCrashes(): void {
    if (this.crashes.length > 0) throw new Error(`${this.crashes.length} node(s) crashed:\n${this.crashes.join('\n')}`);
  }

  /** An error carrying `error`'s message, the cluster's state and each node's log tail. */
  async failWith(error: unknown): Promise<Error> {
    const message = error instanceof Error ? error.message : String(error);
    const logs = this.nodes.map((n) => `--- node ${n.id} log (${n.logPath}) ends:\n${logTail(n)}`).join('\n');
    const crashes = this.crashes.length > 0 ? `\ncrashes:\n${this.crashes.join('\n')}` : '';
    const state = await this.describe().catch(() => '');
    return new Error(`${message}\n${state}${crashes}\n${logs}`, { cause: error });
  }

  /** Kills every node and removes every directory. Safe to call more than once. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await Promise.all(
        this.nodes.map(async (n) => {
          if (n.child && n.exited) {
            n.exitExpected = true;
            n.child.kill('SIGKILL');
            await n.exited;
          }
        }),
      );
      await Promise.all([this.secretDir, ...this.nodes.map((n) => n.dataDir)].map((dir) => rm(dir, { recursive: true, force: true })));
    })();
    return this.destroyed;
  }
}

/**
 * Runs `body` against a fresh cluster, then checks that no node crashed. Whatever
 * happens, every process is killed and every directory removed; a failure carries the
 * cluster's state and the tail of each node's log.
 */
export async function withCluster(options: ClusterOptions, body: (cluster: Cluster) => Promise<void>): Promise<void> {
  const cluster = await Cluster.start(options);
  try {
    await body(cluster);
    cluster.assertNoCrashes();
  } catch (error) {
    throw await cluster.failWith(error);
  } finally {
    await cluster.destroy();
  }
}

/**
 * The kernel's word on a process (Linux): R running, S sleeping, D waiting on the
 * disk, T stopped, Z exited; with its CPU time so far. For failure messages.
 */
function processState(pid: number | undefined): string {
  if (pid === undefined) return 'gone';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 3, 14 and 15 of stat(5): state, user and system time in clock ticks.
    return `state ${fields[0]} cpu ${Number(fields[11]) + Number(fields[12])} ticks`;
  } catch {
    return 'state unknown';
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function logTail(node: ClusterNode): string {
  const lines = readLog(node.logPath).trimEnd().split('\n').slice(-logTailLines);
  return lines.map((line) => `    ${line.length > 400 ? `${line.slice(0, 400)}...` : line}`).join('\n');
}

function tlsArgs(tls: HarnessTls): string[] {
  const auth = tls.clientCertAuth ? ['--trusted-ca-file', tls.files.caFile, '--client-cert-auth'] : [];
  return ['--cert-file', tls.files.serverCertFile, '--key-file', tls.files.serverKeyFile, ...auth];
}

function harnessFetch(tls: HarnessTls | undefined): FetchFunction {
  if (tls === undefined) return fetchWithTls(undefined);
  return fetchWithTls({ ca: readFileSync(tls.files.caFile), cert: readFileSync(tls.files.clientCertFile), key: readFileSync(tls.files.clientKeyFile) });
}
