/**
 * Runs the `keel` command as a child process, for the CLI's end-to-end tests (which
 * get their real cluster from src/harness/cluster-harness.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const keelMain = fileURLToPath(new URL('../main.js', import.meta.url));

export interface KeelRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the `keel` command as a process, feeding `stdin`, killed if it outlives `timeoutMs`.
 * KEEL_* variables of the shell running the tests do not leak in: only `options.env`'s.
 */
export function runKeel(
  args: readonly string[],
  options: { readonly env?: Record<string, string>; readonly stdin?: string; readonly timeoutMs?: number } = {},
): Promise<KeelRun> {
  return new Promise((resolve, reject) => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEEL_')));
    const child = spawn(process.execPath, [keelMain, ...args], {
      env: { ...inherited, ...options.env },
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
