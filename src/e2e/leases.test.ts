/**
 * Leases on a real 3-node cluster over REST: the routes and their errors; a lease kept
 * alive survives the kill -9 of the leader; a lease left alone expires — never before
 * its TTL has passed since it was granted — and its keys disappear on every node,
 * a node that was down at the time included. Over etcd's gRPC API, keep-alives sent to
 * the leader renew in its memory (no log entry each), and such a lease still survives
 * the kill -9 of that leader and still expires once left alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../harness/cluster-harness.js';
import { EtcdGrpcClient } from '../client/etcd-grpc-client.js';
import type { KeepAliveStream } from '../client/etcd-grpc-client.js';
import { describe, errorCode, http, tryHttp } from '../harness/http.js';
import { pause, waitFor } from '../harness/wait-for.js';

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start({ size: 3 });
});
after(async () => cluster?.destroy());

interface Granted {
  id: number;
  ttl: number;
}

async function grant(url: string, ttl: number, id?: number): Promise<Granted> {
  const answer = await http(`${url}/leases`, { method: 'POST', body: { ttl, ...(id !== undefined ? { id } : {}) } });
  assert.equal(answer.status, 200, describe(answer));
  return answer.body as Granted;
}

/** The key as `node` has applied it (serializable: that node's own state). */
async function localValue(id: number, key: string): Promise<string | undefined> {
  const answer = await http(`${cluster.url(id)}/kv/${key}?consistency=serializable`);
  if (answer.status === 404) return undefined;
  assert.equal(answer.status, 200, describe(answer));
  return (answer.body as { value: string }).value;
}

test('lease routes: grant, attach, time to live with keys, list, keep-alive, revoke; errors named', async () => {
  const url = cluster.url(1);
  const lease = await grant(url, 30);
  assert.ok(Number.isSafeInteger(lease.id) && lease.id > 0);
  assert.equal(lease.ttl, 30);
  for (const key of ['lr/a', 'lr/b']) {
    const put = await http(`${url}/kv/${key}?lease=${lease.id}`, { method: 'PUT', body: 'v' });
    assert.equal(put.status, 200, describe(put));
  }
  const info = await http(`${cluster.url(2)}/leases/${lease.id}?keys=true`);
  assert.equal(info.status, 200, describe(info));
  const body = info.body as { id: number; ttl: number; grantedTtl: number; keys: { key: string }[] };
  assert.deepEqual([body.id, body.grantedTtl, body.keys], [lease.id, 30, [{ key: 'lr/a' }, { key: 'lr/b' }]]);
  assert.ok(body.ttl > 0 && body.ttl <= 30, `ttl left ${body.ttl}`);
  const listed = await http(`${url}/leases`);
  assert.ok(
    (listed.body as { leases: { id: number }[] }).leases.some((l) => l.id === lease.id),
    describe(listed),
  );
  const kept = await http(`${cluster.url(3)}/leases/${lease.id}/keepalive`, { method: 'POST' });
  assert.deepEqual([kept.status, (kept.body as Granted).ttl], [200, 30], describe(kept));

  // Errors, each with nothing changed.
  const unknownLease = await http(`${url}/kv/lr/c?lease=999999`, { method: 'PUT', body: 'v' });
  assert.deepEqual([unknownLease.status, errorCode(unknownLease)], [404, 'LEASE_NOT_FOUND'], describe(unknownLease));
  assert.equal(await localValue(1, 'lr/c'), undefined);
  const taken = await http(`${url}/leases`, { method: 'POST', body: { ttl: 10, id: lease.id } });
  assert.deepEqual([taken.status, errorCode(taken)], [409, 'LEASE_EXISTS'], describe(taken));
  const tooLong = await http(`${url}/leases`, { method: 'POST', body: { ttl: 9_000_000_001 } });
  assert.deepEqual([tooLong.status, errorCode(tooLong)], [400, 'LEASE_TTL_TOO_LARGE'], describe(tooLong));
  const badTtl = await http(`${url}/leases`, { method: 'POST', body: { ttl: 'soon' } });
  assert.deepEqual([badTtl.status, errorCode(badTtl)], [400, 'BAD_REQUEST'], describe(badTtl));
  const both = await http(`${url}/kv/lr/d?lease=${lease.id}&ttl=5`, { method: 'PUT', body: 'v' });
  assert.deepEqual([both.status, errorCode(both)], [400, 'BAD_REQUEST'], describe(both));
  const badId = await http(`${url}/leases/abc`);
  assert.deepEqual([badId.status, errorCode(badId)], [400, 'BAD_REQUEST'], describe(badId));

  // A TTL below the minimum (1.5 election timeouts, whole seconds) is raised to it.
  const short = await grant(url, 0);
  assert.equal(short.ttl, 1);

  const revoked = await http(`${url}/leases/${lease.id}`, { method: 'DELETE' });
  assert.equal(revoked.status, 200, describe(revoked));
  assert.equal((revoked.body as { deleted: number }).deleted, 2);
  const revision = (revoked.body as { revision: number }).revision;
  for (const id of [1, 2, 3]) {
    await waitFor(async () => (await cluster.status(id)).revision >= revision, { timeoutMs: 10_000, what: `node ${id} at revision ${revision}` });
    assert.deepEqual([await localValue(id, 'lr/a'), await localValue(id, 'lr/b')], [undefined, undefined], `node ${id}`);
  }
  const gone = await http(`${url}/leases/${lease.id}`);
  assert.deepEqual([gone.status, errorCode(gone)], [404, 'LEASE_NOT_FOUND'], describe(gone));
  const again = await http(`${url}/leases/${lease.id}`, { method: 'DELETE' });
  assert.deepEqual([again.status, errorCode(again)], [404, 'LEASE_NOT_FOUND'], describe(again));
  const late = await http(`${url}/leases/${lease.id}/keepalive`, { method: 'POST' });
  assert.deepEqual([late.status, errorCode(late)], [404, 'LEASE_NOT_FOUND'], describe(late));
});

test('PUT ?ttl= grants a lease for the key and answers its id', async () => {
  const url = cluster.url(2);
  const put = await http(`${url}/kv/ttl/k?ttl=60`, { method: 'PUT', body: 'v' });
  assert.equal(put.status, 200, describe(put));
  const { lease, ttl } = put.body as { lease: number; ttl: number };
  assert.equal(ttl, 60);
  const read = await http(`${url}/kv/ttl/k`);
  assert.equal((read.body as { lease: number }).lease, lease);
  const info = await http(`${url}/leases/${lease}?keys=true`);
  assert.deepEqual((info.body as { keys: unknown[] }).keys, [{ key: 'ttl/k' }]);
  // A retry of the same put in the same session reuses the lease its first attempt granted.
  const session = { 'x-keel-client-id': `ttl-${process.pid}`, 'x-keel-seq': '1' };
  const first = await http(`${url}/kv/ttl/s?ttl=60`, { method: 'PUT', body: 'v', headers: session });
  const retry = await http(`${url}/kv/ttl/s?ttl=60`, { method: 'PUT', body: 'v', headers: session });
  assert.equal(first.status, 200, describe(first));
  assert.equal(retry.status, 200, describe(retry));
  assert.equal((retry.body as { lease: number }).lease, (first.body as { lease: number }).lease);
});

test('a lease kept alive survives the kill -9 of the leader; left alone it expires, its keys gone on every node', async () => {
  const ttl = 8;
  const leader = await cluster.waitForLeader();
  const follower = [1, 2, 3].find((id) => id !== leader.id) as number;
  const lease = await grant(cluster.url(follower), ttl);
  const put = await http(`${cluster.url(follower)}/kv/survive/k?lease=${lease.id}`, { method: 'PUT', body: 'alive' });
  assert.equal(put.status, 200, describe(put));

  // A client keeping the lease alive once a second (etcd clients send every TTL/3),
  // through whichever node is up, recording when each acknowledged keep-alive was sent.
  let keeping = true;
  let lastAckedSentAt = performance.now();
  const failures: string[] = [];
  const keeper = (async () => {
    while (keeping) {
      const sentAt = performance.now();
      const answer = await tryHttp(`${cluster.randomRunningUrl()}/leases/${lease.id}/keepalive`, { method: 'POST', timeoutMs: 3_000 });
      if (answer?.status === 200) lastAckedSentAt = sentAt;
      else if (answer) failures.push(describe(answer));
      await pause(1_000);
    }
  })();
  try {
    await cluster.kill(leader.id);
    const successor = await cluster.waitForLeader({ among: [1, 2, 3].filter((id) => id !== leader.id), termAbove: leader.term, timeoutMs: 20_000 });
    // For two full TTLs under the new leader (which restarted every lease's TTL when
    // elected) the key must be there at every look: the duration is what is tested.
    const until = performance.now() + 2 * ttl * 1000;
    while (performance.now() < until) {
      for (const id of cluster.runningIds()) assert.equal(await localValue(id, 'survive/k'), 'alive', `node ${id}, leader ${successor.id}`);
      await pause(250);
    }
    assert.ok(!failures.some((f) => f.includes('LEASE_NOT_FOUND')), `keep-alives failed: ${failures.join('; ')}`);
  } finally {
    keeping = false;
    await keeper;
  }

  // Left alone now: the key may go only once a TTL has passed since the last acknowledged
  // keep-alive was sent, and then goes on every running node.
  const notBefore = lastAckedSentAt + ttl * 1000;
  await waitFor(
    async () => {
      const now = performance.now();
      const value = await localValue(cluster.runningIds()[0] as number, 'survive/k');
      if (value === undefined) assert.ok(now >= notBefore, `the key was gone ${Math.round(notBefore - now)} ms before its lease's TTL ran out`);
      return value === undefined;
    },
    { timeoutMs: 4 * ttl * 1000, what: 'the lease to expire', intervalMs: 100 },
  );
  for (const id of cluster.runningIds()) {
    await waitFor(async () => (await localValue(id, 'survive/k')) === undefined, { timeoutMs: 10_000, what: `the expired key gone on node ${id}` });
  }
  // The node killed earlier catches up to the expiry too.
  await cluster.startNode(leader.id);
  await waitFor(async () => (await localValue(leader.id, 'survive/k')) === undefined, {
    timeoutMs: 20_000,
    what: `the expired key gone on restarted node ${leader.id}`,
  });
  const info = await http(`${cluster.url(leader.id)}/leases/${lease.id}`);
  assert.deepEqual([info.status, errorCode(info)], [404, 'LEASE_NOT_FOUND'], describe(info));
  cluster.assertNoCrashes();
});

// Bounded: a keep-alive stream that never answers must fail this test, not hang the run.
test('etcd gRPC keep-alives on the leader add no log entry; renewed so, a lease survives the kill -9 of that leader and expires once left alone', {
  timeout: 180_000,
}, async () => {
  const ttl = 6;
  const first = await cluster.waitForLeader();
  let client = new EtcdGrpcClient(cluster.node(first.id).grpcEndpoint);
  let stream: KeepAliveStream = client.keepAliveStream();
  try {
    const id = await client.leaseGrant(ttl);
    await client.call('Put', { key: Buffer.from('memory/k'), value: Buffer.from('alive'), lease: id });
    await cluster.waitForCaughtUp(cluster.runningIds());
    const before = await cluster.status(first.id);
    const keepAlives = 200;
    for (let i = 0; i < keepAlives; i++) assert.equal(await stream.keepAlive(id), ttl);
    const after = await cluster.status(first.id);
    assert.equal(after.term, before.term, 'the leader did not change meanwhile');
    assert.ok(
      after.lastIndex - before.lastIndex < keepAlives / 10,
      `${keepAlives} keep-alives on the leader grew its log from ${before.lastIndex} to ${after.lastIndex}`,
    );

    // Kept alive every second, only ever through the current leader (so only in its
    // memory), across the kill -9 of that leader.
    let lastAckedSentAt = performance.now();
    const keepThroughLeader = async (until: number): Promise<void> => {
      while (performance.now() < until) {
        const sentAt = performance.now();
        assert.equal(await stream.keepAlive(id), ttl, 'a keep-alive found the lease gone');
        lastAckedSentAt = sentAt;
        assert.equal(await localValue(cluster.runningIds()[0] as number, 'memory/k'), 'alive');
        await pause(1_000);
      }
    };
    await keepThroughLeader(performance.now() + ttl * 1000);
    await cluster.kill(first.id);
    // A stream whose server is gone fails every keep-alive at once: none waits forever.
    await assert.rejects(stream.keepAlive(id));
    await assert.rejects(stream.keepAlive(id));
    stream.close();
    client.close();
    const second = await cluster.waitForLeader({ among: cluster.runningIds(), termAbove: first.term, timeoutMs: 20_000 });
    client = new EtcdGrpcClient(cluster.node(second.id).grpcEndpoint);
    stream = client.keepAliveStream();
    // Two TTLs under the new leader, every look finding the key on every running node.
    await keepThroughLeader(performance.now() + 2 * ttl * 1000);
    for (const node of cluster.runningIds()) assert.equal(await localValue(node, 'memory/k'), 'alive', `node ${node}`);

    // Left alone: gone, but not before a TTL has passed since the last acknowledged keep-alive was sent.
    const notBefore = lastAckedSentAt + ttl * 1000;
    await waitFor(
      async () => {
        const now = performance.now();
        const value = await localValue(second.id, 'memory/k');
        if (value === undefined) assert.ok(now >= notBefore, `the key was gone ${Math.round(notBefore - now)} ms before its lease's TTL ran out`);
        return value === undefined;
      },
      { timeoutMs: 4 * ttl * 1000, what: 'the lease to expire', intervalMs: 100 },
    );
    await cluster.startNode(first.id);
    await waitFor(async () => (await localValue(first.id, 'memory/k')) === undefined, {
      timeoutMs: 20_000,
      what: `the expired key gone on restarted node ${first.id}`,
    });
    cluster.assertNoCrashes();
  } finally {
    stream.close();
    client.close();
  }
});
