/**
 * The `etcd3` npm client, unchanged, against a real 3-node Keel cluster over the etcd
 * v3 gRPC API: KV, ranges, transactions (if/then/else) and errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';

let cluster: Cluster;
let client: Etcd3;

before(async () => {
  cluster = await Cluster.start({ size: 3 });
  client = new Etcd3({ hosts: cluster.nodes.map((n) => `http://${n.grpcEndpoint}`), dialTimeout: 3_000 });
});
after(async () => {
  client?.close();
  await cluster?.destroy();
});

test('put, get, getAll by prefix, delete', async () => {
  await client.put('app/name').value('keel');
  await client.put('app/color').value('blue');
  await client.put('other').value('x');
  assert.equal(await client.get('app/name').string(), 'keel');
  assert.deepEqual(await client.getAll().prefix('app/').strings(), { 'app/color': 'blue', 'app/name': 'keel' });
  assert.deepEqual(await client.getAll().prefix('app/').keys(), ['app/color', 'app/name']);
  assert.equal(await client.getAll().prefix('app/').count(), 2);
  const deleted = await client.delete().key('app/name');
  assert.equal(deleted.deleted, '1');
  assert.equal(await client.get('app/name').string(), null);
});

test('versions and revisions as etcd reports them', async () => {
  const first = await client.put('ver/k').value('1');
  await client.put('ver/k').value('2');
  const response = await client.get('ver/k').exec();
  const kv = response.kvs[0];
  assert.ok(kv);
  assert.equal(kv.version, '2');
  assert.equal(kv.create_revision, first.header.revision);
  assert.ok(Number(kv.mod_revision) > Number(kv.create_revision));
  assert.equal(response.header.revision, kv.mod_revision);
  const old = await client.get('ver/k').revision(first.header.revision).string();
  assert.equal(old, '1');
});

test('a transaction takes the then branch or the else branch', async () => {
  await client.put('txn/counter').value('0');
  const claim = () =>
    client
      .if('txn/counter', 'Value', '==', '0')
      .then(client.put('txn/counter').value('1'), client.put('txn/winner').value('first'))
      .else(client.get('txn/counter'))
      .commit();
  const won = await claim();
  assert.equal(won.succeeded, true);
  assert.equal(await client.get('txn/winner').string(), 'first');
  const lost = await claim();
  assert.equal(lost.succeeded, false);
  const read = lost.responses[0]?.response_range;
  assert.equal(read?.kvs[0]?.value.toString(), '1');
  const byVersion = await client.if('txn/counter', 'Version', '>', 1).then(client.delete().key('txn/winner')).commit();
  assert.equal(byVersion.succeeded, true);
  assert.equal(await client.get('txn/winner').string(), null);
});

test('errors reach the client as etcd errors', async () => {
  await client.put('err/k').value('1');
  const { header } = await client.put('err/k').value('2');
  await client.put('err/k').value('3');
  await client.kv.compact({ revision: header.revision });
  await assert.rejects(
    client
      .get('err/k')
      .revision(Number(header.revision) - 1)
      .string(),
    /required revision has been compacted/,
  );
});
