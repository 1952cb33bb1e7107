/**
 * Runs a system command (ip, iptables) with a deadline, and fails with its stderr.
 * The chaos harness changes the machine's network only through these commands.
 */
import { execFile } from 'node:child_process';

const commandTimeoutMs = 10_000;

export function runCommand(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: commandTimeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** The same, but a failure is ignored (clean-up of things that may already be gone). */
export async function runQuietly(command: string, args: readonly string[]): Promise<void> {
  try {
    await runCommand(command, args);
  } catch {
    // Already removed, or never made: either way it is not there now.
  }
}
