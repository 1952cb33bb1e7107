/**
 * Debian's etcdctl (API v3) against real 3-node Keel clusters, for etcd's Maintenance
 * service: endpoint status, health and hashkv with --cluster, move-leader, snapshot
 * save, defrag, and the NOSPACE alarm (list, disarm) under a tiny storage quota.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, withCluster } from '../harness/cluster-harness.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';
import { decodeSnapshot } from '../kv/codec/snapshot-format.js';
import { keelSnapshotIn } from '../kv/etcd-snapshot/snapshot-file.js';
import { http } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';
import { runKeel } from '../cli/testing/run-keel.js';

let cluster: Cluster;
let endpoints: string;

before(async () => {
  await ensureEtcdctl();
  cluster = await Cluster.start({ size: 3 });
  endpoints = cluster.grpcEndpoints();
});
after(async () => cluster?.destroy());

async function ok(args: readonly string[], on = endpoints): Promise<string> {
  const result = await etcdctl(on, args);
  assert.equal(result.code, 0, `etcdctl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

interface JsonStatus {
  Endpoint: string;
  Status: {
    header: { member_id: number; revision: number; raft_term: number };
    version: string;
    dbSize: number;
    leader: number;
    raftIndex: number;
    raftTerm: number;
    raftAppliedIndex?: number;
    dbSizeInUse?: number;
    errors?: string[];
  };
}

test('endpoint status --cluster: every member, one leader, sizes, Raft term and indexes', async () => {
  await ok(['put', 'status/a', '1']);
  const statuses = JSON.parse(await ok(['endpoint', 'status', '--cluster', '-w', 'json'])) as JsonStatus[];
  assert.equal(statuses.length, 3);
  assert.deepEqual(new Set(statuses.map((s) => s.Endpoint)), new Set(cluster.nodes.map((n) => `http://${n.grpcEndpoint}`)));
  const leader = statuses[0]?.Status.leader;
  for (const { Status: s } of statuses) {
    assert.equal(s.version, '3.4.0');
    assert.equal(s.leader, leader, 'every member names the same leader');
    assert.ok(s.dbSize > 0 && (s.dbSizeInUse ?? 0) > 0 && (s.dbSizeInUse ?? 0) <= s.dbSize);
    assert.ok(s.raftTerm >= 1 && s.raftIndex >= 1);
    assert.equal(s.errors, undefined, 'no alarm');
  }
  const table = await ok(['endpoint', 'status', '--cluster']);
  assert.equal(table.trim().split('\n').length, 3);
  assert.match(table, /3\.4\.0/);
});

test('endpoint health --cluster and endpoint hashkv --cluster: healthy, and one hash on every member', async () => {
  const health = await etcdctl(endpoints, ['endpoint', 'health', '--cluster']);
  assert.equal(health.code, 0, health.stderr);
  assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3, health.stdout + health.stderr);
  for (let i = 0; i < 20; i++) await ok(['put', `hash/${i}`, `v${i}`]);
  await cluster.waitForConverged();
  const hashes = JSON.parse(await ok(['endpoint', 'hashkv', '--cluster', '-w', 'json'])) as Array<{ HashKV: { hash: number; header: { revision: number } } }>;
  assert.equal(hashes.length, 3);
  assert.equal(new Set(hashes.map((h) => h.HashKV.hash)).size, 1, JSON.stringify(hashes));
  assert.equal(new Set(hashes.map((h) => h.HashKV.header.revision)).size, 1);
});

test('move-leader: leadership goes to the member named (in hex, as etcdctl takes it)', async () => {
  const leader = await cluster.waitForLeader();
  const target = cluster.nodes.find((n) => n.id !== leader.id)?.id as number;
  const out = await ok(['move-leader', target.toString(16)]);
  assert.match(out, new RegExp(`Leadership transferred from ${leader.id.toString(16)} to ${target.toString(16)}`));
  assert.equal((await cluster.waitForLeader({ termAbove: leader.term })).id, target);
  const bad = await etcdctl(endpoints, ['move-leader', 'ff']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /bad leader transferee/);
});

test('snapshot save writes an etcd snapshot that etcdctl snapshot status reads and keel snapshot restore takes; defrag --cluster; alarm list is empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-etcdctl-snapshot-'));
  try {
    const file = join(dir, 'backup.db');
    const out = await ok(['snapshot', 'save', file], cluster.nodes[0]?.grpcEndpoint);
    assert.match(out, /Snapshot saved at/);
    const status = JSON.parse(await ok(['snapshot', 'status', file, '-w', 'json'])) as { revision: number; totalKey: number };
    const current = JSON.parse(await ok(['get', 'no-such-key', '-w', 'json'])) as { header: { revision: number } };
    assert.ok(status.revision > 1 && status.revision <= current.header.revision, `etcdctl snapshot status: ${JSON.stringify(status)}`);
    const snapshot = decodeSnapshot(await keelSnapshotIn(new Uint8Array(await readFile(file))));
    assert.ok(snapshot.index > 0 && snapshot.tables.has('history'), "the file carries Keel's own snapshot whole");
    const restored = await runKeel(['snapshot', 'restore', file, '--data-dir', join(dir, 'restored'), '--id', '1', '--members', '1,2,3']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /^Restored .* for member 1: revision \d+/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await ok(['put', 'defrag/a', '1']);
  const defrag = await ok(['defrag', '--cluster']);
  assert.equal(defrag.match(/Finished defragmenting etcd member/g)?.length, 3, defrag);
  assert.equal(await ok(['alarm', 'list']), '');
  assert.equal(await ok(['get', 'defrag/a', '--print-value-only']), '1\n', 'data is intact after defragmentation');
});

test('a tiny quota: puts fail with "database space exceeded", alarm list shows NOSPACE, deletes pass, disarm after defrag lets puts in again', {
  timeout: 120_000,
}, async () => {
  await withCluster({ env: { KEEL_QUOTA_BACKEND_BYTES: String(300 * 1024) } }, async (small) => {
    const on = small.grpcEndpoints();
    const big = 'x'.repeat(4096);
    let refused = '';
    let written = 0;
    for (let i = 0; i < 500 && !refused; i++) {
      const put = await etcdctl(on, ['put', `fill/${i}`, big]);
      if (put.code === 0) written++;
      else refused = put.stderr;
    }
    assert.match(refused, /etcdserver: mvcc: database space exceeded/);
    const listed = await waitFor(
      async () => {
        const list = await etcdctl(on, ['alarm', 'list']);
        return list.code === 0 && /alarm:NOSPACE/.test(list.stdout) ? list.stdout : undefined;
      },
      { timeoutMs: 10_000, what: 'etcdctl alarm list to show NOSPACE' },
    );
    assert.match(listed, /^(memberID:\d+ alarm:NOSPACE\s*\n)+$/);
    const status = JSON.parse((await etcdctl(on, ['endpoint', 'status', '-w', 'json'])).stdout) as JsonStatus[];
    assert.ok(
      status.every((s) => s.Status.errors?.some((e) => /NOSPACE/.test(e))),
      JSON.stringify(status),
    );

    assert.equal((await etcdctl(on, ['del', 'fill/', '--prefix'])).stdout.trim(), String(written));
    const revision = (JSON.parse((await etcdctl(on, ['get', 'fill/0', '-w', 'json'])).stdout) as { header: { revision: number } }).header.revision;
    assert.equal((await etcdctl(on, ['compaction', String(revision)])).code, 0);
    await small.waitForConverged();
    assert.equal((await etcdctl(on, ['defrag', '--cluster'])).code, 0);
    const disarm = await etcdctl(on, ['alarm', 'disarm']);
    assert.equal(disarm.code, 0, disarm.stderr);
    await waitFor(async () => (await etcdctl(on, ['alarm', 'list'])).stdout === '', { timeoutMs: 10_000, what: 'the alarms to clear' });
    const put = await etcdctl(on, ['put', 'after', 'disarm']);
    assert.equal(put.code, 0, put.stderr);
    const gateway = await http(`${small.url(1)}/v3/maintenance/alarm`, { method: 'POST', body: {} });
    assert.deepEqual(gateway.body, { header: (gateway.body as { header: unknown }).header });
  });
});
