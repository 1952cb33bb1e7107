/**
 * Debian's etcdctl (API v3) against a real 3-node Keel cluster: the KV service, the
 * transaction shell on stdin, compaction, member list and endpoint health, as a user
 * would type them. etcdctl is Debian's, installed by scripts/setup-ci.sh.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../harness/cluster-harness.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';
import type { EtcdctlResult } from './etcdctl.js';

let cluster: Cluster;
let endpoints: string;

before(async () => {
  await ensureEtcdctl();
  cluster = await Cluster.start({ size: 3 });
  endpoints = cluster.grpcEndpoints();
});
after(async () => cluster?.destroy());

async function ok(args: readonly string[], stdin?: string): Promise<string> {
  const result: EtcdctlResult = await etcdctl(endpoints, args, stdin !== undefined ? { stdin } : {});
  assert.equal(result.code, 0, `etcdctl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

interface JsonRange {
  header: { revision: number; member_id: number; raft_term: number; cluster_id: number };
  kvs?: { key: string; value?: string; version: number; mod_revision: number; create_revision: number }[];
  count?: number;
  more?: boolean;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('put, get and delete a key', async () => {
  assert.equal((await ok(['put', 'kv/a', 'alpha'])).trim(), 'OK');
  assert.equal(await ok(['get', 'kv/a']), 'kv/a\nalpha\n');
  assert.equal(await ok(['get', 'kv/a', '--print-value-only']), 'alpha\n');
  assert.equal((await ok(['del', 'kv/a'])).trim(), '1');
  assert.equal(await ok(['get', 'kv/a']), '');
  assert.equal((await ok(['del', 'kv/a'])).trim(), '0');
});

test('get with --prefix, --limit, --sort-by, --keys-only and -w json', async () => {
  for (const [key, value] of [
    ['p/b', '2'],
    ['p/a', '3'],
    ['p/c', '1'],
    ['q/x', 'other'],
  ])
    await ok(['put', key as string, value as string]);
  assert.equal(await ok(['get', 'p/', '--prefix']), 'p/a\n3\np/b\n2\np/c\n1\n');
  assert.equal(await ok(['get', 'p/', '--prefix', '--keys-only']), 'p/a\n\np/b\n\np/c\n\n');
  assert.equal(await ok(['get', 'p/', '--prefix', '--sort-by=VALUE', '--order=ASCEND', '--print-value-only']), '1\n\n2\n\n3\n\n'.replace(/\n\n/g, '\n'));
  assert.equal(await ok(['get', 'p/', '--prefix', '--sort-by=KEY', '--order=DESCEND', '--keys-only']), 'p/c\n\np/b\n\np/a\n\n');
  const limited = JSON.parse(await ok(['get', 'p/', '--prefix', '--limit=2', '-w', 'json'])) as JsonRange;
  assert.deepEqual(
    limited.kvs?.map((kv) => kv.key),
    [b64('p/a'), b64('p/b')],
  );
  assert.equal(limited.more, true);
  assert.equal(limited.count, 3);
  assert.ok(limited.header.revision > 0);
  assert.ok(limited.header.raft_term > 0);
  assert.ok([1, 2, 3].includes(limited.header.member_id));
  const all = await ok(['get', '', '--from-key', '--keys-only']);
  assert.ok(all.includes('q/x'), all);
});

test('get --rev reads history; compaction makes old revisions unreadable', async () => {
  await ok(['put', 'h/k', 'v1']);
  const first = JSON.parse(await ok(['get', 'h/k', '-w', 'json'])) as JsonRange;
  const rev1 = first.header.revision;
  await ok(['put', 'h/k', 'v2']);
  assert.equal(await ok(['get', 'h/k', `--rev=${rev1}`, '--print-value-only']), 'v1\n');
  assert.equal(await ok(['get', 'h/k', '--print-value-only']), 'v2\n');
  const now = (JSON.parse(await ok(['get', 'h/k', '-w', 'json'])) as JsonRange).header.revision;
  assert.equal((await ok(['compaction', String(now)])).trim(), `compacted revision ${now}`);
  const compacted = await etcdctl(endpoints, ['get', 'h/k', `--rev=${rev1}`]);
  assert.notEqual(compacted.code, 0);
  assert.match(compacted.stderr, /etcdserver: mvcc: required revision has been compacted/);
  const future = await etcdctl(endpoints, ['get', 'h/k', `--rev=${now + 1000}`]);
  assert.notEqual(future.code, 0);
  assert.match(future.stderr, /etcdserver: mvcc: required revision is a future revision/);
});

test('txn from stdin takes the success branch or the failure branch', async () => {
  await ok(['put', 't/lock', 'free']);
  const script = (expected: string): string => `value("t/lock") = "${expected}"\n\nput t/lock taken\nput t/owner me\n\nget t/lock\n\n`;
  // -i prints its prompts on stdout before the outcome.
  const succeeded = await ok(['txn', '-i'], script('free'));
  assert.match(succeeded, /^SUCCESS$/m);
  assert.doesNotMatch(succeeded, /^FAILURE$/m);
  assert.equal(await ok(['get', 't/owner', '--print-value-only']), 'me\n');
  const failed = await ok(['txn', '-i'], script('free'));
  assert.match(failed, /^FAILURE$/m);
  assert.match(failed, /t\/lock\ntaken/);
  const versioned = await ok(['txn', '-i'], 'version("t/owner") = "1"\n\ndel t/owner\n\n\n');
  assert.match(versioned, /^SUCCESS$/m);
  assert.equal(await ok(['get', 't/owner']), '');
});

test('bad requests are refused with etcd messages and change nothing', async () => {
  const empty = await etcdctl(endpoints, ['put', '', 'v']);
  assert.notEqual(empty.code, 0);
  assert.match(empty.stderr, /key is not provided/);
  const duplicate = await etcdctl(endpoints, ['txn', '-i'], { stdin: '\nput d/x 1\nput d/x 2\n\n\n' });
  assert.notEqual(duplicate.code, 0);
  assert.match(duplicate.stderr, /duplicate key given in txn request/);
  assert.equal(await ok(['get', 'd/x']), '');
});

test('member list and endpoint health --cluster reach every member over gRPC', async () => {
  const members = (await ok(['member', 'list'])).trim().split('\n');
  assert.equal(members.length, 3);
  for (const node of cluster.nodes) {
    assert.ok(
      members.some((line) => line.includes(`, http://${node.grpcEndpoint}`)),
      `member list lacks node ${node.id}: ${members.join(' | ')}`,
    );
  }
  const health = await etcdctl(endpoints, ['endpoint', 'health', '--cluster']);
  assert.equal(health.code, 0, health.stderr);
  const healthy = `${health.stdout}${health.stderr}`.split('\n').filter((line) => line.includes('is healthy'));
  assert.equal(healthy.length, 3, `${health.stdout}${health.stderr}`);
});
