/**
 * Tests that drive real outside programs (etcdctl, etcd, chromium, iptables) install
 * them from Debian's packages when missing, once per test process. Several test
 * processes may install at once, so apt waits for dpkg's lock instead of failing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const installTimeoutMs = 10 * 60_000;
const installs = new Map<string, Promise<string>>();

/** The path of `binary`, installing Debian package `pkg` first if it is not on PATH. */
export function ensureDebianPackage(pkg: string, binary: string): Promise<string> {
  let install = installs.get(pkg);
  if (!install) {
    install = locate(binary).then(async (found) => {
      if (found) return found;
      const apt = { timeout: installTimeoutMs, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
      try {
        await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], apt);
        await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', pkg], apt);
      } catch (error) {
        throw new Error(`${binary} is not installed and apt-get install ${pkg} failed: ${(error as Error).message}`);
      }
      const installed = await locate(binary);
      if (!installed) throw new Error(`apt-get installed ${pkg} but ${binary} is still not on PATH`);
      return installed;
    });
    installs.set(pkg, install);
  }
  return install;
}

async function locate(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${binary}`]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}
