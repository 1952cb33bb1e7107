/**
 * Debian's etcdctl (package etcd-client, API v3) driven against a Keel cluster, as a
 * user would: the proof that etcd's own tools work unchanged.
 */
import { spawn } from 'node:child_process';
import { requireTool } from '../harness/index.js';

export interface EtcdctlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface EtcdctlOptions {
  /** Written to etcdctl's standard input, which is then closed (txn -i). */
  readonly stdin?: string;
  /** Killed after this long (watch runs until killed). */
  readonly timeoutMs?: number;
}

const defaultTimeoutMs = 20_000;

/** The path of etcdctl; a test without it fails at once, naming scripts/setup-ci.sh. */
export async function ensureEtcdctl(): Promise<string> {
  return requireTool('etcdctl', 'etcd-client');
}

/** Runs `etcdctl --endpoints=<endpoints> <args>` and collects its output. */
export async function etcdctl(endpoints: string, args: readonly string[], options: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const binary = await ensureEtcdctl();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [`--endpoints=${endpoints}`, '--dial-timeout=3s', '--command-timeout=10s', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? defaultTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // etcdctl reads stdin only for some commands and may exit before the (empty) write
    // reaches it: the pipe's EPIPE then means nothing, its exit code says the rest.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
