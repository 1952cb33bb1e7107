/**
 * `keel cluster up --tls`: a throwaway CA, server and client certificates under the data
 * directory (keys readable by their owner only), nodes with --client-cert-auth, and
 * printed curl, etcdctl and keel commands that work exactly as printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClusterUp, type ClusterUp } from './cluster-up.js';
import { ensureEtcdctl } from './etcdctl.js';

let up: ClusterUp;
// `npx keel` resolves to this worktree's bin when run from its root.
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

before(async () => {
  await ensureEtcdctl();
  up = await startClusterUp({ nodes: 3, tls: true });
});
after(async () => {
  await up?.stop();
});

function printed(pattern: RegExp): string {
  const line = up
    .output()
    .split('\n')
    .map((l) => l.trim())
    .find((l) => pattern.test(l));
  assert.ok(line, `no line matching ${pattern} in:\n${up.output()}`);
  return line.trim();
}

function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEEL_') && !name.startsWith('ETCDCTL_')));
    execFile('sh', ['-c', command], { cwd: projectRoot, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('the certificates are under the data directory, keys 0600', () => {
  for (const name of ['ca.pem', 'server.pem', 'server-key.pem', 'client.pem', 'client-key.pem']) {
    const mode = statSync(join(up.dataDir, 'tls', name)).mode & 0o777;
    if (name.endsWith('-key.pem')) assert.equal(mode, 0o600, name);
  }
  assert.ok(up.endpoints.every((e) => e.startsWith('https://')));
});

test('the printed curl, etcdctl and keel commands work as printed', async () => {
  const curl = printed(/^curl /);
  const put = await sh(curl);
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, /"revision"/);

  const etcdctl = printed(/^ETCDCTL_API=3 etcdctl /);
  const get = await sh(etcdctl);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, 'greeting\nhello\n');

  const exports = printed(/^export KEEL_ENDPOINTS=/);
  const keel = printed(/^npx keel put/);
  const both = await sh(`${exports} && ${keel}`);
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stdout, /hello/);

  // Without the client certificate the same curl is refused.
  const refused = await sh(curl.replace(/--cert \S+ --key \S+ /, ''));
  assert.notEqual(refused.code, 0);
});
