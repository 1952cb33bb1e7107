/**
 * The Python gRPC client `etcd3` (Debian's python3-etcd3, 0.12), unchanged, against a
 * real 3-node Keel cluster through a follower: KV, transactions, leases, watches and
 * locks (python/etcd3_client_calls.py, which asserts each answer). The same script runs
 * against a real etcd 3.4 too, so a step that fails on both is the client's, not Keel's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';
import { startEtcdCluster } from './etcd-cluster.js';
import { requirePythonModule } from '../harness/required-tool.js';

const script = fileURLToPath(new URL('../../src/e2e/python/etcd3_client_calls.py', import.meta.url));
const steps = ['ok kv', 'ok lease', 'ok watch', 'ok lock'];
let python: string;
let cluster: Cluster;

before(async () => {
  python = requirePythonModule('etcd3', 'python3-etcd3');
  cluster = await Cluster.start({ size: 3 });
});
after(async () => {
  await cluster?.destroy();
});

/** Runs the script against host:port; answers the steps it reported passing. */
async function runCalls(endpoint: string, prefix: string): Promise<string[]> {
  const [host, port] = endpoint.split(':') as [string, string];
  try {
    const { stdout } = await promisify(execFile)(python, [script, host, port, prefix], { timeout: 60_000, env: { PATH: '/usr/bin:/bin' } });
    return stdout.trim().split('\n');
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    assert.fail(`the Python etcd3 client failed against ${endpoint}: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
  }
}

test('KV, leases, watches and locks of the Python etcd3 client, through a follower', async () => {
  const leader = (await cluster.waitForLeader()).id;
  const follower = cluster.node(cluster.runningIds().find((id) => id !== leader) as number);
  assert.deepEqual(await runCalls(follower.grpcEndpoint, 'py/'), steps);
  // What it wrote is what another client reads, from another member.
  const reader = new Etcd3({ hosts: [`http://${cluster.node(leader).grpcEndpoint}`], dialTimeout: 3_000 });
  try {
    assert.deepEqual(await reader.getAll().prefix('py/kv/').strings(), { 'py/kv/a': '3', 'py/kv/new': 'x' });
    assert.deepEqual(await reader.getAll().prefix('/locks/py/').keys(), []);
  } finally {
    reader.close();
  }
});

test('the same calls pass on a real etcd 3.4', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-etcd-python-'));
  try {
    const etcd = await startEtcdCluster({ size: 1, dir });
    try {
      assert.deepEqual(await runCalls(etcd.endpoints[0] as string, 'py/'), steps);
    } finally {
      await etcd.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
