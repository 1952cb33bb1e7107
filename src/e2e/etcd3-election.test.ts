/**
 * The `etcd3` npm client's Election recipe against a real 3-node Keel cluster: it is
 * built from leases, transactions on create revisions, and watches of the key before
 * one's own (etcd's concurrency package does the same), so it exercises all three
 * together, unchanged, through Keel's etcd v3 API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { Cluster } from './cluster-harness.js';
import { waitFor } from './wait-for.js';

let cluster: Cluster;
let clients: Etcd3[] = [];

before(async () => {
  cluster = await Cluster.start({ size: 3 });
  // One client per node, so candidates and the observer sit on different members.
  clients = cluster.nodes.map((n) => new Etcd3({ hosts: [`http://${n.grpcEndpoint}`], dialTimeout: 3_000 }));
});
after(async () => {
  for (const client of clients) client.close();
  await cluster?.destroy();
});

test('one leader at a time; the next candidate is elected when the leader resigns, and observers follow', async () => {
  const [a, b, c] = clients as [Etcd3, Etcd3, Etcd3];
  const first = a.election('jobs', 5).campaign('alpha');
  await first.wait();
  assert.equal(await c.election('jobs').leader(), 'alpha');

  const observer = await c.election('jobs').observe();
  const seen: (string | undefined)[] = [];
  observer.on('change', (leader: string | undefined) => seen.push(leader));
  assert.equal(observer.leader(), 'alpha');

  let secondElected = false;
  const second = b.election('jobs', 5).campaign('beta');
  second.on('elected', () => (secondElected = true));
  // While alpha leads, beta waits: its key is newer. Wait for beta's key to exist first.
  await second.getCampaignKey();
  assert.equal(secondElected, false, 'a second candidate was elected while the first still led');
  assert.equal(await c.election('jobs').leader(), 'alpha');

  await first.resign();
  await second.wait();
  assert.equal(await a.election('jobs').leader(), 'beta');
  await waitFor(async () => observer.leader() === 'beta', { timeoutMs: 10_000, what: 'the observer to see beta lead' });
  assert.ok(seen.includes('beta'), `observer changes: ${JSON.stringify(seen)}`);

  await second.proclaim('beta-2');
  await waitFor(async () => observer.leader() === 'beta-2', { timeoutMs: 10_000, what: 'the observer to see the proclaimed value' });
  await second.resign();
  await observer.cancel();
});
