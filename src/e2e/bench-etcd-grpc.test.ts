/**
 * `keel bench --target etcd-grpc` drives the same workload through the etcd v3 gRPC
 * API of a real Keel cluster and of a real etcd (Debian's etcd-server, installed when
 * missing): puts, linearizable gets, serializable gets, lease keep-alives and txns all
 * succeed, and the keys they wrote are there afterwards; in a watch run every watcher
 * receives every put.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdGrpcClient } from '../client/etcd-grpc-client.js';
import { runKeel } from '../cli/testing/run-keel.js';
import { prefixEnd } from '../kv/mvcc/key-range.js';
import { Cluster } from '../harness/cluster-harness.js';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster.js';

const runs = [
  ['put', 'linearizable'],
  ['get', 'linearizable'],
  ['get', 'serializable'],
  ['keepalive', 'linearizable'],
  ['txn', 'linearizable'],
] as const;

async function benchAndCheck(endpoints: readonly string[], prefix: string): Promise<void> {
  for (const [op, consistency] of runs) {
    const args = ['bench', '--target', 'etcd-grpc', '--endpoints', endpoints.join(','), '--op', op, '--consistency', consistency];
    const run = await runKeel([...args, '--clients', '4', '--keys', '20', '--requests', '100', '--key-prefix', prefix, '--json'], { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { target: string; op: string; ok: number; errors: number; errorsByCode: object; consistency: string | null };
    assert.equal(result.target, 'etcd-grpc');
    assert.equal(result.op, op);
    assert.equal(result.ok, 100, JSON.stringify(result.errorsByCode));
    assert.equal(result.errors, 0);
    if (op === 'get') assert.equal(result.consistency, consistency);
  }
  const watchArgs = ['bench', '--target', 'etcd-grpc', '--endpoints', endpoints.join(','), '--op', 'watch', '--watchers', '30', '--clients', '4'];
  const watch = await runKeel([...watchArgs, '--keys', '20', '--requests', '50', '--key-prefix', prefix, '--json'], { timeoutMs: 120_000 });
  assert.equal(watch.code, 0, watch.stderr);
  const watched = JSON.parse(watch.stdout) as { ok: number; events: { watchers: number; delivered: number; expected: number; perSecond: number } };
  assert.equal(watched.ok, 50);
  assert.deepEqual({ ...watched.events, perSecond: 0 }, { watchers: 30, delivered: 50 * 30, expected: 50 * 30, perSecond: 0 });
  assert.ok(watched.events.perSecond > 0);
  // The get runs prefilled every key of the key space, through the same API.
  const client = new EtcdGrpcClient(endpoints[0] as string);
  try {
    const range = await client.get(prefix, { rangeEnd: prefixEnd(Buffer.from(prefix)) });
    assert.equal(Number(range.count), 20);
  } finally {
    client.close();
  }
}

describe('keel bench --target etcd-grpc against Keel and against etcd', { timeout: 300_000 }, () => {
  let cluster: Cluster | undefined;
  let etcd: EtcdCluster | undefined;
  let etcdDir: string;
  before(async () => {
    etcdDir = await mkdtemp(join(tmpdir(), 'keel-etcd-'));
    cluster = await Cluster.start({ size: 3 });
    etcd = await startEtcdCluster({ size: 1, dir: etcdDir });
  });
  after(async () => {
    await cluster?.destroy();
    await etcd?.stop();
    await rm(etcdDir, { recursive: true, force: true });
  });

  it("runs puts, both kinds of gets, keep-alives, txns and a watch fan-out through Keel's gRPC ports", async () => {
    await benchAndCheck(
      cluster!.nodes.map((node) => node.grpcEndpoint),
      'bench-keel/',
    );
  });

  it('runs the same workload through a real etcd', async () => {
    await benchAndCheck(etcd!.endpoints, 'bench-etcd/');
  });

  it('refuses a bad endpoint list clearly', async () => {
    const run = await runKeel(['bench', '--target', 'etcd-grpc', '--endpoints', 'ftp://x', '--requests', '1']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /invalid endpoint "ftp:\/\/x"/);
  });
});
