/**
 * Real Keel clusters for end-to-end tests: `keel start` processes on 127.0.0.1 with
 * ports the OS hands out, data in a temporary directory, every process stopped (and
 * the directory removed) by stop(). Waits are on conditions with deadlines.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const keelMain = fileURLToPath(new URL('./main.js', import.meta.url));

const host = '127.0.0.1';
const leaderWaitMs = 30_000;
const stopWaitMs = 10_000;
const pollEveryMs = 50;

/** Ports the OS chose, all held open at once (so they differ), then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export interface RealNode {
  readonly id: number;
  readonly endpoint: string;
  readonly logFile: string;
  process: ChildProcess;
}

export class RealCluster {
  private constructor(
    readonly dir: string,
    readonly nodes: RealNode[],
  ) {}

  static async start(options: { readonly nodes?: number; readonly tickMs?: number } = {}): Promise<RealCluster> {
    const count = options.nodes ?? 3;
    const ports = await freePorts(count * 2);
    const dir = mkdtempSync(join(tmpdir(), 'keel-e2e-'));
    const ids = Array.from({ length: count }, (_, i) => i + 1);
    const clientPort = (id: number): number => ports[(id - 1) * 2]!;
    const peerPort = (id: number): number => ports[(id - 1) * 2 + 1]!;
    const members = ids.map((id) => `${id}=${host}:${peerPort(id)}:${clientPort(id)}`).join(',');
    const nodes = ids.map((id): RealNode => {
      const logFile = join(dir, `node${id}.log`);
      const log = openSync(logFile, 'a');
      const args = [keelMain, 'start', '--id', String(id), '--members', members, '--data-dir', join(dir, `node${id}`), '--log-level', 'warn', '--tick-ms', String(options.tickMs ?? 50)];
      const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
      closeSync(log);
      return { id, endpoint: `http://${host}:${clientPort(id)}`, logFile, process: child };
    });
    const cluster = new RealCluster(dir, nodes);
    try {
      await cluster.waitForLeader();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  endpoints(): string[] {
    return this.nodes.map((n) => n.endpoint);
  }

  running(): RealNode[] {
    return this.nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
  }

  /** The leader all running nodes agree on, waiting up to a deadline. */
  async waitForLeader(deadlineMs = leaderWaitMs): Promise<RealNode> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const live = this.running();
      const leaders = await Promise.all(live.map((n) => healthLeader(n.endpoint)));
      const first = leaders[0];
      const leader = this.nodes.find((n) => n.id === first);
      if (first !== undefined && leaders.every((l) => l === first) && leader && live.includes(leader)) return leader;
      if (Date.now() > deadline) throw new Error(`no agreed leader within ${deadlineMs} ms (saw ${JSON.stringify(leaders)}); logs:\n${this.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, pollEveryMs));
    }
  }

  /** SIGKILL one node and wait until it is gone. */
  async kill(node: RealNode): Promise<void> {
    await stopProcess(node.process, 'SIGKILL');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => stopProcess(n.process, 'SIGTERM')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  logs(): string {
    return this.nodes.map((n) => {
      try {
        return `--- node ${n.id}\n${readFileSync(n.logFile, 'utf8').slice(-4000)}`;
      } catch {
        return `--- node ${n.id}: no log`;
      }
    }).join('\n');
  }
}

async function healthLeader(endpoint: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    if (!response.ok) return undefined;
    const leader = ((await response.json()) as { leader?: unknown }).leader;
    return typeof leader === 'number' ? leader : undefined;
  } catch {
    return undefined;
  }
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), stopWaitMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export interface KeelRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `keel` command as a process, feeding `stdin`, killed if it outlives `timeoutMs`. */
export function runKeel(args: readonly string[], options: { readonly env?: Record<string, string>; readonly stdin?: string; readonly timeoutMs?: number } = {}): Promise<KeelRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [keelMain, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
