/**
 * `keel cluster up` in the foreground as a test's child process, on free ports and a
 * temporary data directory: the way a person starts a cluster, supervisor included.
 * `stop()` sends Ctrl-C (SIGINT) as a person would, SIGKILLs whatever is left after a
 * deadline (the supervisor and the nodes it recorded in cluster.json) and removes the
 * data directory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeBasePort, waitFor } from '../harness/index.js';

const keelMain = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const upTimeoutMs = 60_000;
const stopTimeoutMs = 15_000;

export interface ClusterUp {
  readonly endpoints: readonly string[];
  /** As printed, with the supervisor token in its fragment. */
  readonly dashboardUrl: string;
  readonly supervisorUrl: string;
  /** The supervisor's token, from the dashboard address; send it in `supervisorHeaders`. */
  readonly supervisorHeaders: Record<string, string>;
  readonly dataDir: string;
  /** Everything the command printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startClusterUp(options: { readonly nodes: 3 | 5; readonly enableFaultInjection?: boolean; readonly tls?: boolean }): Promise<ClusterUp> {
  // Client ports base.., peer ports base+100...
  const basePort = await freeBasePort(options.nodes, [0, 100]);
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-cluster-up-'));
  const args = [keelMain, 'cluster', 'up', '--nodes', String(options.nodes), '--data-dir', dataDir, '--base-port', String(basePort), '--log-level', 'warn'];
  if (options.enableFaultInjection) args.push('--enable-fault-injection');
  if (options.tls) args.push('--tls');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    }
    killRecordedNodes(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const supervisorUrl = await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`keel cluster up exited with code ${child.exitCode}:\n${output}`);
        return /Supervisor \(kill and restart nodes from the dashboard\): (http:\/\/\S+)/.exec(output)?.[1];
      },
      { timeoutMs: upTimeoutMs, what: 'keel cluster up to print its supervisor URL', intervalMs: 50, explain: async () => output },
    );
    const dashboardUrl = /Dashboard: (https?:\/\/\S+)/.exec(output)?.[1];
    const token = /#supervisor-token=([A-Za-z0-9_-]+)$/.exec(dashboardUrl ?? '')?.[1];
    if (!dashboardUrl || !token) throw new Error(`keel cluster up printed no dashboard URL with a supervisor token:\n${output}`);
    const scheme = options.tls ? 'https' : 'http';
    const endpoints = Array.from({ length: options.nodes }, (_, i) => `${scheme}://127.0.0.1:${basePort + i}`);
    return { endpoints, dashboardUrl, supervisorUrl, supervisorHeaders: { 'x-keel-supervisor-token': token }, dataDir, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Nodes still alive after the supervisor is gone (it was SIGKILLed) must not outlive the test. */
function killRecordedNodes(dataDir: string): void {
  let pids: number[] = [];
  try {
    pids = (JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as { pids: number[] }).pids;
  } catch {
    return; // A clean stop removes the file.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
