/**
 * The outside programs the tests drive (etcdctl, etcd, chromium, iptables, libfaketime,
 * the Python gateway client etcd3gw) are Debian packages that scripts/setup-ci.sh
 * installs once, before any test runs.
 * Tests install nothing: a test whose program is missing fails at once, naming the
 * program, its package and the script, instead of reaching for apt-get mid-run.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const setupScript = 'scripts/setup-ci.sh';

/** What to say when `what` is missing: the package that brings it and the script that installs it. */
export function missingToolMessage(what: string, debianPackage: string): string {
  return `${what} is missing: run ${setupScript} as root once (it installs Debian's ${debianPackage} and the other tools the tests drive), or apt-get install ${debianPackage}`;
}

/** The path of `binary` on PATH; throws, naming its Debian package and the setup script, when it is not there. */
export function requireTool(binary: string, debianPackage: string): string {
  const found = findOnPath(binary);
  if (found === undefined) throw new Error(missingToolMessage(`${binary} (not on PATH)`, debianPackage));
  return found;
}

/** `path` when that file exists and is executable; throws like requireTool otherwise. */
export function requireExecutable(path: string, debianPackage: string): string {
  if (!isExecutable(path)) throw new Error(missingToolMessage(path, debianPackage));
  return path;
}

/**
 * Debian's own Python, which sees the python3-* packages (a python3 earlier on PATH, a
 * virtualenv's or pyenv's, may not), once `module` imports in it; throws like requireTool.
 */
export function requirePythonModule(module: string, debianPackage: string): string {
  const python = requireExecutable(debianPython, 'python3');
  const imported = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 30_000 });
  if (imported.status !== 0)
    throw new Error(missingToolMessage(`the Python module ${module} (for ${python}: ${imported.stderr.trim().split('\n').at(-1) ?? ''})`, debianPackage));
  return python;
}

const debianPython = '/usr/bin/python3';

function findOnPath(binary: string): string | undefined {
  // Tools like iptables live in sbin, which a non-login root shell may leave off PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  return dirs
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, binary))
    .find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
