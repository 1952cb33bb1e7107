/**
 * Data moves between Keel and etcd with each one's own tools, both ways:
 *   - a Keel store exported as an etcd snapshot (kv/etcd-snapshot/export.ts) passes
 *     `etcdctl snapshot status`, and a real etcd 3.4 restored from it with `etcdctl
 *     snapshot restore` serves the same keys, values, create and mod revisions,
 *     versions and leases, the same history above the compacted revision, and refuses
 *     reads below it;
 *   - an etcd snapshot saved from a real etcd (`etcdctl snapshot save`) is rebuilt as a
 *     Keel store (kv/etcd-snapshot/import.ts) that answers every read at every revision
 *     from the compacted one on exactly as that etcd does, and `keel snapshot restore`
 *     takes the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeCommand } from '../kv/codec/command.js';
import { keelSnapshotIn } from '../kv/etcd-snapshot/snapshot-file.js';
import { decodeSnapshot } from '../kv/codec/snapshot-format.js';
import { runKeel } from '../cli/testing/run-keel.js';
import { exportEtcdSnapshot } from '../kv/etcd-snapshot/export.js';
import type { MvccStore } from '../kv/mvcc/mvcc-store.js';
import { bytes, withTempStore } from '../kv/testing/temp-store.js';
import type { Command } from '../kv/types.js';
import type { Entry } from '../raft/types.js';
import { EtcdGrpcClient } from '../client/etcd-grpc-client.js';
import type { EtcdKeyValue } from '../client/etcd-grpc-client.js';
import { startEtcdCluster } from './etcd-cluster.js';
import { requireTool } from '../harness/required-tool.js';

const runFile = promisify(execFile);
const ALL = new Uint8Array([0]);

/** Puts with and without leases, a txn changing two keys at one revision, deletes, a compaction, then more changes. */
function workload(): Command[] {
  const put = (key: string, value: string, lease = 0): Command => ({ body: { type: 'put', key: bytes(key), value: bytes(value), lease } });
  return [
    { body: { type: 'leaseGrant', id: 0x1234, ttl: 600 } },
    put('config/a', 'one'),
    put('config/b', 'two', 0x1234),
    put('config/a', 'three'),
    { body: { type: 'txn', compare: [], success: [put('txn/x', 'x1').body, put('txn/y', 'y1').body] as never, failure: [] } },
    { body: { type: 'deleteRange', key: bytes('config/b') } },
    put('gone/soon', 'v'),
    { body: { type: 'deleteRange', key: bytes('gone/soon') } },
    put('config/a', 'four'),
    { body: { type: 'compact', revision: 6 } },
    put('after/1', 'a', 0x1234),
    { body: { type: 'txn', compare: [], success: [put('txn/x', 'x2').body, { type: 'deleteRange', key: bytes('txn/y') }] as never, failure: [] } },
    put('config/a', 'five'),
    put('binary', '\u0000\u00ff'),
  ];
}

function fill(store: MvccStore): void {
  const entries: Entry[] = workload().map((command, i) => ({ term: 1, index: i + 1, kind: 'normal', data: encodeCommand(command) }));
  store.applyEntries(entries);
}

/** A key-value pair as both sides report it. */
function comparable(kv: { key: Uint8Array; value: Uint8Array; createRevision: number; modRevision: number; version: number; lease: number }): string {
  return JSON.stringify([Buffer.from(kv.key).toString('hex'), Buffer.from(kv.value).toString('hex'), kv.createRevision, kv.modRevision, kv.version, kv.lease]);
}

/** `leaseIds`: Keel's id of each etcd lease (by etcd's decimal id), where they differ. */
function fromEtcd(kv: EtcdKeyValue, leaseIds = new Map<string, number>()): string {
  return comparable({
    key: kv.key,
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: leaseIds.get(kv.lease) ?? Number(kv.lease),
  });
}

test('a Keel store as an etcd snapshot: etcdctl snapshot status reads it, and etcd restored from it serves the same keys, history and leases', {
  timeout: 120_000,
}, async () => {
  const etcdctl = await requireTool('etcdctl', 'etcd-client');
  const dir = await mkdtemp(join(tmpdir(), 'keel-etcd-snapshot-'));
  try {
    await withTempStore(async (store) => {
      fill(store);
      assert.equal(store.compactedRevision(), 6);
      const file = join(dir, 'from-keel.db');
      await writeFile(file, exportEtcdSnapshot(store, store.snapshot().data));

      const status = JSON.parse((await runFile(etcdctl, ['snapshot', 'status', file, '-w', 'json'], { env: { ETCDCTL_API: '3' } })).stdout) as {
        revision: number;
        totalKey: number;
      };
      assert.equal(status.revision, store.currentRevision(), 'etcd finds the store at its revision');

      const etcd = await startEtcdCluster({ size: 1, dir, restoreFrom: file });
      const client = new EtcdGrpcClient(etcd.endpoints[0] as string);
      try {
        const now = await client.get(ALL, { rangeEnd: ALL });
        assert.equal(Number(now.header.revision), store.currentRevision());
        for (let revision = store.compactedRevision(); revision <= store.currentRevision(); revision++) {
          const keel = store.range({ type: 'range', key: ALL, rangeEnd: ALL, revision });
          assert.ok(keel.ok);
          const etcdAnswer = await client.get(ALL, { rangeEnd: ALL, revision });
          assert.deepEqual(
            etcdAnswer.kvs.map((kv) => fromEtcd(kv)),
            keel.value.kvs.map(comparable),
            `every key at revision ${revision}`,
          );
        }
        await assert.rejects(client.get(ALL, { rangeEnd: ALL, revision: store.compactedRevision() - 1 }), /compacted/);
        const leases = JSON.parse(
          (await runFile(etcdctl, ['--endpoints', etcd.endpoints[0] as string, 'lease', 'list', '-w', 'json'], { env: { ETCDCTL_API: '3' } })).stdout,
        ) as { leases?: { id: number }[] };
        assert.deepEqual(
          (leases.leases ?? []).map((lease) => lease.id),
          [0x1234],
          'the lease came along',
        );
      } finally {
        client.close();
        await etcd.stop();
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an etcd snapshot made by etcd becomes a Keel store that answers every read at every revision as that etcd does', { timeout: 120_000 }, async () => {
  const etcdctl = await requireTool('etcdctl', 'etcd-client');
  const dir = await mkdtemp(join(tmpdir(), 'keel-from-etcd-'));
  const etcd = await startEtcdCluster({ size: 1, dir });
  const endpoint = etcd.endpoints[0] as string;
  const client = new EtcdGrpcClient(endpoint);
  const ctl = async (args: string[]): Promise<string> => (await runFile(etcdctl, ['--endpoints', endpoint, ...args], { env: { ETCDCTL_API: '3' } })).stdout;
  try {
    const leaseOf = async (ttl: number): Promise<string> =>
      (/lease ([0-9a-f]+) granted/.exec(await ctl(['lease', 'grant', String(ttl)])) as RegExpExecArray)[1] as string;
    const kept = await leaseOf(900);
    const revoked = await leaseOf(900);
    await ctl(['put', 'app/a', 'one']);
    for (let i = 0; i < 5; i++) await ctl(['put', 'counter', String(i)]);
    await ctl(['put', '--lease', kept, 'app/leased', 'L']);
    await ctl(['put', '--lease', revoked, 'app/temporary', 'T']);
    await client.call('Txn', {
      success: [{ request_put: { key: bytes('txn/x'), value: bytes('x1') } }, { request_put: { key: bytes('txn/y'), value: bytes('y1') } }],
    });
    await ctl(['del', 'app/a']);
    await ctl(['put', 'gone', 'soon']);
    await ctl(['del', 'gone']);
    await ctl(['lease', 'revoke', revoked]);
    const compactAt = Number((await client.get('counter')).header.revision);
    await ctl(['compaction', String(compactAt)]);
    await ctl(['put', 'counter', 'after']);
    await client.call('Txn', { success: [{ request_delete_range: { key: bytes('txn/y') } }, { request_put: { key: bytes('txn/x'), value: bytes('x2') } }] });
    await ctl(['put', 'app/b', 'two']);
    const file = join(dir, 'from-etcd.db');
    await ctl(['snapshot', 'save', file]);

    const keelSnapshot = await keelSnapshotIn(new Uint8Array(await readFile(file)));
    await withTempStore(async (store) => {
      store.restore(decodeSnapshot(keelSnapshot).index, keelSnapshot);
      // etcd's lease ids are 63-bit; Keel gives one past 2^53 a new id (import.ts).
      const keelLeases = store.leases();
      assert.equal(keelLeases.length, 1, 'the live lease, and not the revoked one');
      const keptId = BigInt(`0x${kept}`);
      assert.ok(keptId <= BigInt(Number.MAX_SAFE_INTEGER) ? keelLeases[0]?.id === Number(keptId) : true);
      const leaseIds = new Map([[keptId.toString(), keelLeases[0]?.id as number]]);
      assert.equal(keelLeases[0]?.ttl, 900);
      const now = await client.get(ALL, { rangeEnd: ALL });
      assert.equal(store.currentRevision(), Number(now.header.revision), 'the same revision');
      assert.equal(store.compactedRevision(), compactAt, 'the same compacted revision');
      for (let revision = compactAt; revision <= store.currentRevision(); revision++) {
        const keel = store.range({ type: 'range', key: ALL, rangeEnd: ALL, revision });
        assert.ok(keel.ok);
        const etcdAnswer = await client.get(ALL, { rangeEnd: ALL, revision });
        assert.ok(etcdAnswer.kvs.length > 0);
        assert.deepEqual(
          keel.value.kvs.map(comparable),
          etcdAnswer.kvs.map((kv) => fromEtcd(kv, leaseIds)),
          `every key at revision ${revision}`,
        );
      }
      assert.equal(
        store.range({ type: 'range', key: ALL, rangeEnd: ALL, revision: compactAt - 1 }).ok,
        false,
        'reads below the compacted revision are refused',
      );
    });

    const restored = await runKeel(['snapshot', 'restore', file, '--data-dir', join(dir, 'keel-node-1'), '--id', '1', '--members', '1,2,3']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /revision \d+, 4 keys, compacted up to \d+/);
  } finally {
    client.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
