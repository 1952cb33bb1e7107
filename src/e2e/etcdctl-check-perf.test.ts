/**
 * `etcdctl check perf --load=s`, the smallest of etcd's own performance checks (a
 * minute of puts from 50 clients through leases, then a deletion of the prefix), run
 * unchanged against a real 3-node Keel cluster: it must print PASS for throughput,
 * slowest request and standard deviation, and exit 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../harness/cluster-harness.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';

let cluster: Cluster;

before(async () => {
  await ensureEtcdctl();
  cluster = await Cluster.start({ size: 3, tickMs: 50, electionTicks: 10 });
});
after(async () => cluster?.destroy());

test('etcdctl check perf --load=s passes', { timeout: 180_000 }, async () => {
  const result = await etcdctl(cluster.grpcEndpoints(), ['check', 'perf', '--load=s', '--prefix=/check-perf/'], { timeoutMs: 150_000 });
  const output = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, `check perf failed:\n${output}`);
  assert.match(result.stdout, /PASS: Throughput/);
  assert.doesNotMatch(result.stdout, /FAIL/);
  assert.match(result.stdout, /^PASS$/m);
});
