/**
 * Maintenance on real 3-node clusters of `keel start` processes: HashKV agreeing on
 * every node, defragmentation, the storage quota and the NOSPACE alarm, snapshot save
 * and restore into a new cluster (through the `keel` command), and move-leader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeelClient } from '../client/keel-client.js';
import { runKeel } from '../cli/testing/run-keel.js';
import { withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { describe, errorCode, http } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';

const value1k = 'v'.repeat(1024);

function clientOf(cluster: Cluster): KeelClient {
  return new KeelClient({ endpoints: cluster.nodes.map((n) => n.url) });
}

async function hashes(cluster: Cluster, revision: number): Promise<Array<{ id: number; hash: number; revision: number; compactRevision: number }>> {
  return Promise.all(
    cluster.nodes.map(async (n) => {
      const answer = await http(`${n.url}/admin/hash?revision=${revision}`);
      assert.equal(answer.status, 200, describe(answer));
      return answer.body as { id: number; hash: number; revision: number; compactRevision: number };
    }),
  );
}

test('defragmenting every member again and again under puts of 256 B to 64 KiB keeps every member running, and their stores identical', {
  timeout: 180_000,
}, async () => {
  await withCluster({}, async (cluster) => {
    const client = clientOf(cluster);
    let loading = true;
    let failures = 0;
    // Values of many sizes, so that pages overflow and the free list is busy while the copies are taken.
    const load = Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let i = 0; loading; i++) {
          const bytes = Math.round(256 * 256 ** (((worker * 7919 + i * 104729) % 1000) / 1000));
          await client.put(`defrag/${(worker * 131 + i) % 2000}`, 'x'.repeat(bytes)).catch(() => failures++);
        }
      }),
    );
    // Bounded in time: as many rounds as 25 s allow (a copy damaged by the writes around it
    // showed within about ten rounds, when LMDB's own compacting copy was used).
    const deadline = Date.now() + 25_000;
    let rounds = 0;
    try {
      for (; Date.now() < deadline; rounds++) {
        for (const node of cluster.nodes) {
          const answer = await http(`${node.url}/admin/defragment`, { method: 'POST', timeoutMs: 60_000 });
          assert.equal(answer.status, 200, `round ${rounds}, node ${node.id}: ${describe(answer)}`);
        }
      }
    } finally {
      loading = false;
      await load;
    }
    assert.ok(rounds >= 3, `only ${rounds} rounds of defragmentation in 25 s`);
    assert.equal(failures, 0, 'no put failed');
    const converged = await cluster.waitForConverged();
    const all = await hashes(cluster, converged.revision);
    assert.equal(new Set(all.map((h) => h.hash)).size, 1, `every member holds the same store: ${JSON.stringify(all)}`);
  });
});

test('HashKV agrees on every node after writes, deletes and a compaction; defragment shrinks each file and keeps the hash', { timeout: 120_000 }, async () => {
  await withCluster({}, async (cluster) => {
    const client = clientOf(cluster);
    for (let i = 0; i < 300; i++) await client.put(`hash/${i}`, value1k);
    for (let i = 0; i < 300; i += 2) await client.delete(`hash/${i}`);
    const { revision } = await client.put('hash/last', 'x');
    assert.equal((await http(`${cluster.url(1)}/v3/kv/compaction`, { method: 'POST', body: { revision: String(revision - 10) } })).status, 200);
    const converged = await cluster.waitForConverged();

    const before = await hashes(cluster, converged.revision);
    assert.deepEqual(new Set(before.map((h) => h.hash)).size, 1, `every node has the same hash: ${JSON.stringify(before)}`);
    assert.ok(before.every((h) => h.revision === converged.revision && h.compactRevision === revision - 10));
    const older = await hashes(cluster, revision - 5);
    assert.equal(new Set(older.map((h) => h.hash)).size, 1);
    assert.notEqual(older[0]?.hash, before[0]?.hash, 'another revision, another hash');
    const compacted = await http(`${cluster.url(2)}/admin/hash?revision=${revision - 11}`);
    assert.equal(compacted.status, 410, describe(compacted));
    const bad = await http(`${cluster.url(2)}/admin/hash?revision=-1`);
    assert.equal(bad.status, 400, describe(bad));

    // Writes and serializable reads keep coming while every node defragments.
    let loading = true;
    const acknowledged: string[] = [];
    const load = Promise.all(
      [1, 2, 3, 4].map(async (worker) => {
        for (let i = 0; loading && i < 10_000; i++) {
          const key = `load/${worker}/${i}`;
          await client.put(key, 'v');
          acknowledged.push(key);
          const read = await http(`${cluster.url(1 + (i % 3))}/kv/${key}?consistency=serializable`);
          assert.ok(read.status === 200 || read.status === 404, describe(read));
        }
      }),
    );
    for (const node of cluster.nodes) {
      const status = (await http(`${node.url}/status`)).body as {
        dbSize: number;
        dbSizeInUse: number;
        alarms: unknown[];
        quotaBackendBytes: number;
        version: string;
      };
      assert.ok(status.dbSize > 300 * 1024 && status.dbSizeInUse <= status.dbSize, `sizes of node ${node.id}: ${JSON.stringify(status)}`);
      assert.deepEqual(status.alarms, []);
      assert.equal(status.quotaBackendBytes, 2 * 1024 ** 3);
      const answer = await http(`${node.url}/admin/defragment`, { method: 'POST', timeoutMs: 60_000 });
      assert.equal(answer.status, 200, describe(answer));
      const { beforeBytes, afterBytes } = answer.body as { beforeBytes: number; afterBytes: number };
      assert.ok(afterBytes < beforeBytes, `node ${node.id}: ${beforeBytes} -> ${afterBytes} bytes`);
      const file = await stat(join(node.dataDir, 'kv', 'data.mdb'));
      // The file is sparse, as large as LMDB's map (lmdb-env.ts): what it gives back is the disk space its blocks take.
      const fileBytesOnDisk = file.blocks * 512;
      assert.ok(fileBytesOnDisk <= beforeBytes, `node ${node.id}'s file takes ${fileBytesOnDisk} bytes of disk after defragmenting`);
    }
    loading = false;
    await load;
    assert.ok(acknowledged.length > 0);
    for (const key of acknowledged) assert.equal((await client.get(key))?.value, 'v', `acknowledged write ${key} survives the defragmentations`);
    const withoutCurrent = (all: Awaited<ReturnType<typeof hashes>>): unknown[] =>
      all.map(({ id, hash, revision: at, compactRevision }) => ({ id, hash, at, compactRevision }));
    assert.deepEqual(
      withoutCurrent(await hashes(cluster, converged.revision)),
      withoutCurrent(before),
      'neither the writes since nor defragmentation change the hash at that revision',
    );
    // The same through the command line, asking every member /cluster/info lists.
    const one = cluster.url(1);
    const status = await runKeel(['endpoint', 'status', '--cluster', '--endpoints', one]);
    assert.equal(status.code, 0, status.stderr);
    const rows = status.stdout.trim().split('\n');
    assert.match(rows[0] as string, /^ENDPOINT\s+ID\s+VERSION\s+DB SIZE\s+IN USE\s+IS LEADER/);
    assert.equal(rows.length, 4, status.stdout);
    assert.equal(rows.filter((row) => /\btrue\b/.test(row)).length, 1, `one leader: ${status.stdout}`);
    const hashkv = await runKeel(['endpoint', 'hashkv', '--cluster', '--endpoints', one, '--rev', String(converged.revision), '--json']);
    assert.equal(hashkv.code, 0, hashkv.stderr);
    const cliHashes = (JSON.parse(hashkv.stdout) as Array<{ value: { hash: number } }>).map((a) => a.value.hash);
    assert.deepEqual(cliHashes, [before[0]?.hash, before[0]?.hash, before[0]?.hash]);
    const defrag = await runKeel(['defrag', '--cluster', '--endpoints', one]);
    assert.equal(defrag.code, 0, defrag.stderr);
    assert.equal(defrag.stdout.match(/^Finished defragmenting http:\/\/127\.0\.0\.1:\d+: .* -> .*$/gm)?.length, 3, defrag.stdout);
    await client.put('hash/after-defrag', 'ok');
    const read = await client.get('hash/after-defrag', { consistency: 'linearizable' });
    assert.equal(read?.value, 'ok');
  });
});

test('a write past the storage quota raises NOSPACE through the log: every node refuses writes but not deletes, until space is freed and the alarm disarmed', {
  timeout: 120_000,
}, async () => {
  const quotaBytes = 400 * 1024;
  await withCluster({ env: { KEEL_QUOTA_BACKEND_BYTES: String(quotaBytes) } }, async (cluster) => {
    const client = clientOf(cluster);
    let refused: { status: number; body: unknown } | undefined;
    let written = 0;
    for (let i = 0; i < 2_000 && !refused; i++) {
      const answer = await http(`${cluster.url(1 + (i % 3))}/kv/fill/${i}`, { method: 'PUT', body: value1k.repeat(4) });
      if (answer.status === 200) written++;
      else refused = answer;
    }
    assert.ok(refused, 'the quota was never reached');
    assert.equal(refused.status, 507, JSON.stringify(refused.body));
    assert.deepEqual((refused.body as { error: unknown }).error, { code: 'NO_SPACE', message: 'etcdserver: mvcc: database space exceeded' });
    assert.ok(written > 10, `${written} writes fitted in ${quotaBytes} bytes`);

    // The alarm is in the replicated state: every node has it and refuses writes. Each
    // node that measured its file over the quota raised its own (as in etcd).
    const alarmsOf = async (url: string): Promise<Array<{ memberId: number; alarm: string }>> =>
      ((await http(`${url}/admin/alarms`)).body as { alarms: Array<{ memberId: number; alarm: string }> }).alarms;
    const sameAlarmsEverywhere = (): Promise<Array<{ memberId: number; alarm: string }>> =>
      waitFor(
        async () => {
          const all = await Promise.all(cluster.nodes.map((n) => alarmsOf(n.url)));
          const first = JSON.stringify(all[0]);
          return all[0]?.length && all.every((a) => JSON.stringify(a) === first) ? all[0] : undefined;
        },
        { timeoutMs: 10_000, what: 'every node to apply the same NOSPACE alarms' },
      );
    const alarms = await sameAlarmsEverywhere();
    assert.ok(
      alarms.every((a) => a.alarm === 'NOSPACE' && a.memberId >= 1 && a.memberId <= 3),
      JSON.stringify(alarms),
    );
    for (const node of cluster.nodes) {
      const status = (await http(`${node.url}/status`)).body as { alarms: unknown[] };
      assert.deepEqual(status.alarms, alarms);
    }
    for (const node of cluster.nodes) {
      // A node whose own file is over the quota also raises its own alarm now.
      const write = await http(`${node.url}/kv/small`, { method: 'PUT', body: 'x' });
      assert.equal(errorCode(write), 'NO_SPACE', `node ${node.id}: ${describe(write)}`);
    }
    const health = await runKeel(['endpoint', 'health', '--endpoints', cluster.url(2)]);
    assert.equal(health.code, 3, 'an active alarm makes the endpoint unhealthy');
    assert.match(health.stderr, /active alarm\(s\): alarm:NOSPACE/);

    // Free space: deletes and compaction still apply; then defragment and disarm.
    for (let i = 0; i < written + 1; i++) {
      const answer = await http(`${cluster.url(1)}/kv/fill/${i}`, { method: 'DELETE' });
      assert.equal(answer.status, 200, describe(answer));
    }
    const { revision } = (await http(`${cluster.url(1)}/kv/fill/0`, { method: 'DELETE' })).body as { revision: number };
    assert.equal((await http(`${cluster.url(1)}/v3/kv/compaction`, { method: 'POST', body: { revision: String(revision) } })).status, 200);
    await cluster.waitForConverged();
    for (const node of cluster.nodes) assert.equal((await http(`${node.url}/admin/defragment`, { method: 'POST', timeoutMs: 60_000 })).status, 200);
    const list = await runKeel(['alarm', 'list', '--endpoints', cluster.url(1)]);
    const raised = await sameAlarmsEverywhere();
    assert.equal(list.stdout, raised.map((a) => `memberID:${a.memberId} alarm:NOSPACE\n`).join(''));
    const disarm = await runKeel(['alarm', 'disarm', '--endpoints', cluster.url(1)]);
    assert.equal(disarm.code, 0, disarm.stderr);
    for (const node of cluster.nodes) {
      await waitFor(async () => ((await http(`${node.url}/admin/alarms`)).body as { alarms: unknown[] }).alarms.length === 0, {
        timeoutMs: 10_000,
        what: `node ${node.id} to apply the disarm`,
      });
    }
    await client.put('after/disarm', 'fits again');
    assert.equal((await client.get('after/disarm'))?.value, 'fits again');
    const badAlarm = await http(`${cluster.url(1)}/admin/alarms`, { method: 'POST', body: { action: 'deactivate', memberId: 1, alarm: 'FULL' } });
    assert.equal(badAlarm.status, 400, describe(badAlarm));
    // An alarm can be raised only for a member: one for an unknown id would stop every
    // write with nobody to answer for it. Over REST and over gRPC; nothing is raised.
    const stranger = await http(`${cluster.url(1)}/admin/alarms`, { method: 'POST', body: { action: 'activate', memberId: 99, alarm: 'NOSPACE' } });
    assert.equal(stranger.status, 404, describe(stranger));
    assert.match(describe(stranger), /member 99 is not in the cluster/);
    const viaGateway = await http(`${cluster.url(2)}/v3/maintenance/alarm`, { method: 'POST', body: { action: 'ACTIVATE', memberID: '99', alarm: 'NOSPACE' } });
    assert.equal(viaGateway.status, 404, describe(viaGateway));
    assert.deepEqual(((await http(`${cluster.url(1)}/admin/alarms`)).body as { alarms: unknown[] }).alarms, []);
    // Raising then clearing answers with what changed, and the list as it is after.
    const raisedOne = await http(`${cluster.url(1)}/admin/alarms`, { method: 'POST', body: { action: 'activate', memberId: 2, alarm: 'CORRUPT' } });
    assert.deepEqual(raisedOne.body, {
      revision: (raisedOne.body as { revision: number }).revision,
      changed: [{ memberId: 2, alarm: 'CORRUPT' }],
      alarms: [{ memberId: 2, alarm: 'CORRUPT' }],
    });
    const cleared = await http(`${cluster.url(1)}/admin/alarms`, { method: 'POST', body: { action: 'deactivate', memberId: 2, alarm: 'CORRUPT' } });
    assert.deepEqual(cleared.body, { revision: (cleared.body as { revision: number }).revision, changed: [{ memberId: 2, alarm: 'CORRUPT' }], alarms: [] });
  });
});

test('keel snapshot save, then keel snapshot restore into a new 3-node cluster: the data and its hash are there, and it takes writes', {
  timeout: 180_000,
}, async () => {
  const work = await mkdtemp(join(tmpdir(), 'keel-e2e-snapshot-'));
  try {
    const file = join(work, 'backup.snapshot');
    let saved: { revision: number; hash: number; compactRevision: number } | undefined;
    await withCluster({}, async (cluster) => {
      const client = clientOf(cluster);
      for (let i = 0; i < 50; i++) await client.put(`app/${i}`, `value ${i}`);
      await client.delete('app/7');
      const converged = await cluster.waitForConverged();
      const save = await runKeel(['snapshot', 'save', file, '--endpoints', cluster.url(2)]);
      assert.equal(save.code, 0, save.stderr);
      assert.match(save.stdout, new RegExp(`^Snapshot saved at .* revision ${converged.revision}, from`));
      const hash = (await hashes(cluster, converged.revision))[1] as { hash: number; compactRevision: number };
      saved = { revision: converged.revision, hash: hash.hash, compactRevision: hash.compactRevision };
    });
    assert.ok(saved);

    await withCluster(
      {
        seedDataDirs: async (nodes, members) => {
          for (const node of nodes) {
            const restore = await runKeel(['snapshot', 'restore', file, '--data-dir', node.dataDir, '--id', String(node.id), '--members', members]);
            assert.equal(restore.code, 0, restore.stderr);
            assert.match(restore.stdout, /revision \d+, 49 keys/);
          }
        },
      },
      async (cluster) => {
        const converged = await cluster.waitForConverged();
        assert.equal(converged.revision, saved?.revision, 'the new cluster starts at the saved revision');
        for (const node of cluster.nodes) {
          const read = await http(`${node.url}/kv/app/42?consistency=serializable`);
          assert.equal(read.status, 200, describe(read));
          assert.equal((read.body as { value: string }).value, 'value 42');
          assert.equal((await http(`${node.url}/kv/app/7?consistency=serializable`)).status, 404);
        }
        const restoredHashes = await hashes(cluster, converged.revision);
        assert.deepEqual(
          restoredHashes.map((h) => h.hash),
          [saved?.hash, saved?.hash, saved?.hash],
          'the restored key space hashes as the saved one did',
        );
        const client = clientOf(cluster);
        const { revision } = await client.put('app/new', 'after restore');
        assert.equal(revision, (saved?.revision ?? 0) + 1);
        assert.equal((await client.get('app/new'))?.value, 'after restore');
      },
    );

    const again = await runKeel(['snapshot', 'restore', file, '--data-dir', work, '--id', '1', '--members', '1,2,3']);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /is not empty/);
    const notMember = await runKeel(['snapshot', 'restore', file, '--data-dir', join(work, 'x'), '--id', '4', '--members', '1,2,3']);
    assert.match(notMember.stderr, /--id 4 is not one of the members/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('move-leader hands leadership to the voter asked for and answers once it leads; a non-member or a follower is refused', { timeout: 120_000 }, async () => {
  await withCluster({}, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader.id)?.id as number;
    const other = cluster.nodes.find((n) => n.id !== leader.id && n.id !== follower)?.id as number;

    const notMember = await http(`${cluster.url(leader.id)}/admin/move-leader`, { method: 'POST', body: { to: 9 } });
    assert.equal(notMember.status, 400, describe(notMember));
    assert.equal(errorCode(notMember), 'BAD_LEADER_TRANSFEREE');
    const onFollower = await http(`${cluster.url(follower)}/admin/move-leader`, { method: 'POST', body: { to: other } });
    assert.equal(onFollower.status, 503, describe(onFollower));
    assert.equal(errorCode(onFollower), 'NOT_LEADER');

    const moved = await http(`${cluster.url(leader.id)}/admin/move-leader`, { method: 'POST', body: { to: follower } });
    assert.equal(moved.status, 200, describe(moved));
    const now = await cluster.waitForLeader({ termAbove: leader.term });
    assert.equal(now.id, follower);

    // Through the command line, given every endpoint: it finds the leader itself.
    const cli = await runKeel(['move-leader', String(other), '--endpoints', cluster.nodes.map((n) => n.url).join(',')]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, `Leadership transferred to node ${other}\n`);
    assert.equal((await cluster.waitForLeader({ termAbove: now.term })).id, other);
  });
});
