import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClient } from '../client/keel-client.js';
import { FakeCluster } from '../client/testing/scripted-cluster.js';
import { benchKey, benchValue, checkBenchOptions, formatBenchResult, prefill, runBench } from './bench.js';
import type { BenchOptions } from './bench.js';
import { benchOptionsFrom } from './bench-command.js';
import { restTarget } from './bench-targets.js';

const base: BenchOptions = {
  clients: 4,
  op: 'put',
  consistency: 'linearizable',
  valueSize: 16,
  keys: 20,
  durationMs: 60_000,
  requests: 50,
  keyPrefix: 'bench/',
  prefill: true,
};

describe('keel bench', () => {
  let cluster: FakeCluster;
  let client: KeelClient;
  before(async () => {
    cluster = await FakeCluster.start({ nodes: 3, leader: 1 });
    client = new KeelClient({ endpoints: cluster.endpoints(), retries: 0 });
  });
  after(async () => {
    await cluster.close();
  });

  it('sends exactly --requests requests and summarizes their latency', async () => {
    cluster.applied.length = 0;
    const progress: number[] = [];
    const result = await runBench(restTarget(client), base, { onProgress: (p) => progress.push(p.started) });
    assert.equal(result.ok, 50);
    assert.equal(result.errors, 0);
    assert.equal(result.stoppedBy, 'requests');
    assert.equal(cluster.applied.length, 50);
    const l = result.latencyMs;
    assert.ok(l.min > 0 && l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
    assert.ok(result.throughput > 0);
    assert.equal(progress.at(-1), 50, 'a last progress report at the end');
    for (const key of cluster.store.keys()) assert.match(key, /^bench\/\d\d$/);
  });

  it('refuses txn and watch runs through the REST target, which has neither, before sending anything', async () => {
    cluster.received.length = 0;
    await assert.rejects(runBench(restTarget(client), { ...base, op: 'txn' }), /--op txn is measured through the etcd API \(--target etcd-grpc\), not rest/);
    await assert.rejects(runBench(restTarget(client), { ...base, op: 'watch', watchers: 3 }), /--op watch is measured through the etcd API/);
    assert.equal(cluster.received.length, 0);
  });

  it('stops starting requests when the duration is over', async () => {
    const result = await runBench(restTarget(client), { ...base, requests: undefined, durationMs: 100 });
    assert.equal(result.stoppedBy, 'duration');
    assert.ok(result.ok > 0);
  });

  it('prefills the key space for gets, which then all find a value', async () => {
    cluster.store.clear();
    const options: BenchOptions = { ...base, op: 'get', consistency: 'serializable' };
    await prefill(restTarget(client), options);
    assert.equal(cluster.store.size, 20);
    assert.equal(cluster.store.get(benchKey(options, 7))?.value.toString(), benchValue(16));
    cluster.received.length = 0;
    const result = await runBench(restTarget(client), options);
    assert.equal(result.ok, 50);
    assert.equal(result.consistency, 'serializable');
    assert.ok(cluster.dataRequests().every((r) => r.method === 'GET' && r.url.endsWith('?consistency=serializable')));
  });

  it('counts failures by code', async () => {
    for (let i = 0; i < 3; i++) cluster.inject({ kind: 'error', status: 413, code: 'VALUE_TOO_LARGE' });
    const result = await runBench(restTarget(client), { ...base, clients: 1, requests: 10 });
    assert.equal(result.ok, 7);
    assert.equal(result.errors, 3);
    assert.deepEqual(result.errorsByCode, { VALUE_TOO_LARGE: 3 });
    assert.match(formatBenchResult(result), /errors {6}VALUE_TOO_LARGE 3/);
  });

  it('formats a summary', () => {
    const text = formatBenchResult({
      target: 'rest',
      op: 'get',
      consistency: 'linearizable',
      clients: 16,
      valueSize: 256,
      keys: 1000,
      ok: 1000,
      errors: 0,
      errorsByCode: {},
      elapsedMs: 2000,
      throughput: 500,
      stoppedBy: 'duration',
      latencyMs: { min: 0.5, mean: 1.25, p50: 1, p90: 2, p99: 3, p999: 4, max: 5 },
    });
    assert.equal(
      text,
      [
        'get (linearizable) over rest: 16 clients, 256-byte values, 1000 keys, 2.00 s (stopped by duration)',
        'requests    1000 ok, 0 failed',
        'throughput  500.0 ops/s',
        'latency ms  p50 1.000  p90 2.000  p99 3.000  p99.9 4.000  max 5.000  (mean 1.250, min 0.500)',
        '',
      ].join('\n'),
    );
  });

  it('keys are zero-padded to one width; values are printable and of the asked size', () => {
    assert.equal(benchKey({ keyPrefix: 'b/', keys: 1000 }, 7), 'b/007');
    assert.equal(benchKey({ keyPrefix: 'b/', keys: 1 }, 0), 'b/0');
    assert.equal(benchValue(100).length, 100);
    assert.match(benchValue(100), /^[A-Za-z0-9]+$/);
    assert.equal(benchValue(0), '');
  });

  it('checks its options', () => {
    assert.throws(() => checkBenchOptions({ ...base, clients: 0 }), /--clients/);
    assert.throws(() => checkBenchOptions({ ...base, keys: 0 }), /--keys/);
    assert.throws(() => checkBenchOptions({ ...base, durationMs: 0 }), /--duration/);
    assert.throws(() => checkBenchOptions({ ...base, valueSize: -1 }), /--value-size/);
    assert.throws(() => checkBenchOptions({ ...base, op: 'watch', watchers: 0 }), /--watchers must be 1\.\.10000/);
    const flags = {
      target: 'rest' as const,
      clients: 256,
      op: 'get' as const,
      consistency: 'linearizable' as const,
      valueSize: 8,
      keys: 10,
      keyPrefix: 'x',
      prefill: true,
    };
    assert.equal(benchOptionsFrom(flags).durationMs, 10_000, 'default 10 s');
    assert.equal(benchOptionsFrom({ ...flags, requests: 5 }).durationMs, 600_000, 'a --requests run is still bounded');
    assert.equal(benchOptionsFrom({ ...flags, duration: 1.5 }).durationMs, 1_500);
    assert.equal(benchOptionsFrom({ ...flags, op: 'watch' }).watchers, 1_000, 'a watch run has 1,000 watchers unless told');
    assert.throws(() => benchOptionsFrom({ ...flags, watchers: 5 }), /--watchers is for --op watch/);
  });
});
