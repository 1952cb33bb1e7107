/**
 * Data moves from Keel to etcd with etcd's own tools: a Keel store exported as an etcd
 * snapshot (kv/etcd-snapshot/export.ts) passes `etcdctl snapshot status`, and a real
 * etcd 3.4 restored from it with `etcdctl snapshot restore` serves the same keys,
 * values, create and mod revisions, versions and leases, the same history above the
 * compacted revision, and refuses reads below it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeCommand } from '../kv/command.js';
import { exportEtcdSnapshot } from '../kv/etcd-snapshot/export.js';
import type { MvccStore } from '../kv/mvcc-store.js';
import { bytes, withTempStore } from '../kv/testing.js';
import type { Command } from '../kv/types.js';
import type { Entry } from '../raft/types.js';
import { EtcdGrpcClient } from '../client/etcd-grpc-client.js';
import type { EtcdKeyValue } from '../client/etcd-grpc-client.js';
import { startEtcdCluster } from './etcd-cluster.js';
import { requireTool } from './required-tool.js';

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

function fromEtcd(kv: EtcdKeyValue): string {
  return comparable({ key: kv.key, value: kv.value, createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision), version: Number(kv.version), lease: Number(kv.lease) });
}

test('a Keel store as an etcd snapshot: etcdctl snapshot status reads it, and etcd restored from it serves the same keys, history and leases', { timeout: 120_000 }, async () => {
  const etcdctl = await requireTool('etcdctl', 'etcd-client');
  const dir = await mkdtemp(join(tmpdir(), 'keel-etcd-snapshot-'));
  try {
    await withTempStore(async (store) => {
      fill(store);
      assert.equal(store.compactedRevision(), 6);
      const file = join(dir, 'from-keel.db');
      await writeFile(file, exportEtcdSnapshot(store, store.snapshot().data));

      const status = JSON.parse((await runFile(etcdctl, ['snapshot', 'status', file, '-w', 'json'], { env: { ETCDCTL_API: '3' } })).stdout) as { revision: number; totalKey: number };
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
          assert.deepEqual(etcdAnswer.kvs.map(fromEtcd), keel.value.kvs.map(comparable), `every key at revision ${revision}`);
        }
        await assert.rejects(client.get(ALL, { rangeEnd: ALL, revision: store.compactedRevision() - 1 }), /compacted/);
        const leases = JSON.parse((await runFile(etcdctl, ['--endpoints', etcd.endpoints[0] as string, 'lease', 'list', '-w', 'json'], { env: { ETCDCTL_API: '3' } })).stdout) as { leases?: { id: number }[] };
        assert.deepEqual((leases.leases ?? []).map((lease) => lease.id), [0x1234], 'the lease came along');
      } finally {
        client.close();
        await etcd.stop();
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
