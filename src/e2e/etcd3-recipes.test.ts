/**
 * The `etcd3` npm client's recipes against a real 3-node Keel cluster, unchanged: its
 * Election (leases, transactions on create revisions, and watches of the key before
 * one's own, as etcd's concurrency package does) and its software transactions (STM:
 * reads recorded, then one transaction that commits only if none of them changed,
 * retried on conflict). Its Lock is in etcd-lease-clients.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, Isolation } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';
import { waitFor } from '../harness/wait-for.js';

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
  // Listened for now: wait() resolves on an 'elected' event that comes after it is called,
  // and beta may be elected before alpha's resign() returns (its lease revoke comes after
  // the delete that beta's watch sees). Called after resign(), it then waited for good.
  const secondWon = second.wait();
  // While alpha leads, beta waits: its key is newer. Wait for beta's key to exist first.
  await second.getCampaignKey();
  assert.equal(secondElected, false, 'a second candidate was elected while the first still led');
  assert.equal(await c.election('jobs').leader(), 'alpha');

  await first.resign();
  await secondWon;
  assert.equal(await a.election('jobs').leader(), 'beta');
  await waitFor(async () => observer.leader() === 'beta', { timeoutMs: 10_000, what: 'the observer to see beta lead' });
  assert.ok(seen.includes('beta'), `observer changes: ${JSON.stringify(seen)}`);

  await second.proclaim('beta-2');
  await waitFor(async () => observer.leader() === 'beta-2', { timeoutMs: 10_000, what: 'the observer to see the proclaimed value' });
  await second.resign();
  await observer.cancel();
});

test('software transactions from every member: concurrent transfers keep the total, conflicts retry', async () => {
  const [a] = clients as [Etcd3];
  await a.put('bank/alice').value('100');
  await a.put('bank/bob').value('100');
  let attempts = 0;
  const transfer = (client: Etcd3, from: string, to: string, amount: number): Promise<void> =>
    // Serializable: the client's default, SerializableSnapshot, reports a conflict on
    // every commit of this client version, on etcd 3.4 as on Keel, even with no other writer.
    client.stm({ retries: 50, isolation: Isolation.Serializable }).transact(async (tx) => {
      attempts++;
      const [source, target] = await Promise.all([tx.get(`bank/${from}`).number(), tx.get(`bank/${to}`).number()]);
      await tx.put(`bank/${from}`).value(String((source ?? 0) - amount));
      await tx.put(`bank/${to}`).value(String((target ?? 0) + amount));
    });
  // Twelve transfers at once, through all three members, in both directions.
  const transfers = Array.from({ length: 12 }, (_, i) =>
    transfer(clients[i % clients.length] as Etcd3, i % 2 === 0 ? 'alice' : 'bob', i % 2 === 0 ? 'bob' : 'alice', i + 1),
  );
  await Promise.all(transfers);
  const alice = Number(await a.get('bank/alice').string());
  const bob = Number(await a.get('bank/bob').string());
  // Alice sent 1+3+...+11 = 36 and received 2+4+...+12 = 42.
  assert.deepEqual({ alice, bob }, { alice: 106, bob: 94 });
  assert.ok(attempts > transfers.length, `${attempts} attempts for ${transfers.length} transfers: none conflicted, so nothing was checked`);
});
