/**
 * Running podman and podman-compose from the container tests: every command has a
 * deadline, and a failure says which command failed and what it printed.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs `command args` from `cwd` with `env` added, killed after `timeoutMs`. */
export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string; env?: Record<string, string> },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        ...(options.cwd ? { cwd: options.cwd } : {}),
        env: { ...process.env, ...options.env },
      },
      (error, stdout, stderr) => {
        if (error) {
          const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
          reject(
            new Error(
              `${command} ${args.join(' ')} failed (${error.killed ? `killed after ${options.timeoutMs} ms` : `exit ${String(error.code)}`}):\n${tail}`,
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

/** Runs every cleanup step even when some fail; reports the failures together. */
export async function cleanUp(steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  const failures: string[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
}

/**
 * Every container of compose project `project`, with the last `linesMax` lines of what it
 * printed (stdout and stderr, with podman's timestamps): what a failed test shows, since
 * the containers are removed after it.
 */
export async function projectLogs(project: string, options: { timeoutMs: number; linesMax: number }): Promise<string> {
  const names = (
    await run('podman', ['ps', '-a', '--filter', `label=io.podman.compose.project=${project}`, '--format', '{{.Names}} ({{.Status}})'], options)
  ).stdout
    .split('\n')
    .filter((line) => line !== '');
  const sections: string[] = [];
  for (const line of names) {
    const name = line.split(' ')[0] as string;
    try {
      const { stdout, stderr } = await run('podman', ['logs', '--timestamps', '--tail', String(options.linesMax), name], options);
      sections.push(`--- podman logs ${line} ---\n${`${stdout}${stderr}`.trimEnd()}`);
    } catch (error) {
      sections.push(`--- podman logs ${line}: ${(error as Error).message}`);
    }
  }
  return sections.join('\n');
}
