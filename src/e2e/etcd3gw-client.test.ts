/**
 * A Python client of etcd's JSON gateway, Debian's etcd3gw (python3-etcd3gw, installed
 * by scripts/setup-ci.sh), with its default settings against a three-node Keel
 * cluster: KV, transactions (replace, create), leases, its lock recipe and watches,
 * through a follower (which forwards writes to the leader) and through the leader.
 * The calls are made by src/e2e/python/etcd3gw_calls.py, which prints what each
 * returned; the checks are here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../harness/cluster-harness.js';
import { requirePythonModule } from '../harness/required-tool.js';

const script = fileURLToPath(new URL('../../src/e2e/python/etcd3gw_calls.py', import.meta.url));
const runTimeoutMs = 60_000;

let cluster: Cluster;
let python: string;

before(async () => {
  python = requirePythonModule('etcd3gw', 'python3-etcd3gw');
  cluster = await Cluster.start({ size: 3 });
});
after(async () => cluster?.destroy());

/** Runs the script against node `id`'s HTTP port; resolves with what it printed. */
function runCalls(id: number, prefix: string): Promise<Record<string, unknown>> {
  const url = new URL(cluster.url(id));
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, url.hostname, url.port, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`etcd3gw_calls.py exited ${code ?? signal}${signal ? ` (killed after ${runTimeoutMs} ms)` : ''}:\n${err}`));
      resolve(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

for (const where of ['a follower', 'the leader'] as const) {
  test(`etcd3gw with default settings: KV, leases, locks and watches through ${where}`, async () => {
    const leader = (await cluster.waitForLeader()).id;
    const target = where === 'the leader' ? leader : (cluster.runningIds().find((n) => n !== leader) as number);
    const prefix = `py${target}/`;
    const seen = await runCalls(target, prefix);
    assert.deepEqual(seen, {
      status_has_version: true,
      members: 3,
      put: true,
      get: ['1'],
      get_missing: [],
      put_again: true,
      get_metadata: { value: '2', version: '2', key: `${prefix}a` },
      get_prefix: [
        ['2', `${prefix}a`],
        ['3', `${prefix}b`],
      ],
      get_prefix_descend: [`${prefix}b`, `${prefix}a`],
      replace_success: true,
      replace_fail: false,
      after_replace: ['4'],
      create_success: true,
      create_fail: false,
      delete: true,
      delete_missing: false,
      lease_id_positive: true,
      lease_ttl_in_range: true,
      lease_keys_empty: [],
      lease_keys: [`${prefix}leased1`, `${prefix}leased2`],
      lease_refresh_in_range: true,
      lease_revoke: true,
      leased_keys_after_revoke: [],
      lease_refresh_after_revoke: -1,
      lease_ttl_after_revoke: -1,
      create_with_lease: true,
      lock_acquire: true,
      lock_is_acquired: true,
      lock_second_acquire: false,
      lock_release: true,
      lock_second_after_release: true,
      watch: [
        { type: 'PUT', value: '0' },
        { type: 'PUT', value: '1' },
        { type: 'PUT', value: '2' },
        { type: 'DELETE', value: '' },
      ],
      watch_prefix: [`${prefix}p/one`, `${prefix}p/two`],
      watch_once: 'done',
    });
  });
}
