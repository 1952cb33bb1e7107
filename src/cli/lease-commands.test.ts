/**
 * End to end: `keel lease ...`, `keel put --ttl/--lease` and the client library's lease
 * calls against a real 3-node cluster of `keel start` processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClient } from '../client/keel-client.js';
import { KeelClientError } from '../client/errors.js';
import { Cluster } from '../harness/cluster-harness.js';
import { runKeel } from './testing/run-keel.js';

describe('keel lease against a real 3-node cluster', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let env: Record<string, string>;
  let client: KeelClient;
  before(async () => {
    cluster = await Cluster.start({ size: 3 });
    const endpoints = cluster.nodes.map((node) => node.url);
    env = { KEEL_ENDPOINTS: endpoints.join(',') };
    client = new KeelClient({ endpoints });
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('lease grant, put --lease, ttl --keys, keep-alive --once, list, revoke', async () => {
    const grant = await runKeel(['lease', 'grant', '60'], { env });
    assert.equal(grant.code, 0, grant.stderr);
    const match = /^lease (\d+) granted with TTL 60s\n$/.exec(grant.stdout);
    assert.ok(match, grant.stdout);
    const id = match[1] as string;
    const put = await runKeel(['put', 'cl/a', 'v', '--lease', id], { env });
    assert.equal(put.code, 0, put.stderr);
    const ttl = await runKeel(['lease', 'ttl', id, '--keys'], { env });
    assert.match(ttl.stdout, new RegExp(`^lease ${id}: \\d+s left of 60s\\ncl/a\\n$`));
    const kept = await runKeel(['lease', 'keep-alive', '--once', id], { env });
    assert.equal(kept.stdout, `lease ${id} keepalived with TTL 60s\n`);
    const list = await runKeel(['lease', 'list', '--json'], { env });
    assert.ok((JSON.parse(list.stdout) as { leases: { id: number }[] }).leases.some((l) => String(l.id) === id));
    const revoke = await runKeel(['lease', 'revoke', id], { env });
    assert.match(revoke.stdout, new RegExp(`^lease ${id} revoked, 1 keys deleted`));
    assert.equal((await runKeel(['get', 'cl/a'], { env })).code, 1);
    const gone = await runKeel(['lease', 'ttl', id], { env });
    assert.deepEqual([gone.code, gone.stderr], [1, `keel lease: lease ${id} not found (expired or revoked)\n`]);
    const late = await runKeel(['lease', 'keep-alive', id], { env });
    assert.equal(late.code, 1, late.stderr);
  });

  it('put --ttl grants a lease for the key; put --lease with an unknown lease is refused', async () => {
    const put = await runKeel(['put', 'cl/ttl', 'v', '--ttl', '30', '--json'], { env });
    assert.equal(put.code, 0, put.stderr);
    const answer = JSON.parse(put.stdout) as { lease: number; ttl: number };
    assert.equal(answer.ttl, 30);
    const kv = await client.get('cl/ttl');
    assert.equal(kv?.lease, answer.lease);
    const refused = await runKeel(['put', 'cl/x', 'v', '--lease', '123456789'], { env });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /LEASE_NOT_FOUND/);
  });

  it('the client library: grant, keep-alive, time to live with keys, leases, revoke, and LEASE_NOT_FOUND', async () => {
    const lease = await client.leaseGrant(45);
    assert.equal(lease.ttl, 45);
    await client.put('lib/k', 'v', { lease: lease.id });
    assert.equal((await client.leaseKeepAlive(lease.id)).ttl, 45);
    const info = await client.leaseTimeToLive(lease.id, { keys: true });
    assert.deepEqual(
      info?.keys.map((k) => k.key),
      ['lib/k'],
    );
    assert.ok((await client.leases()).leases.some((l) => l.id === lease.id && l.grantedTtl === 45));
    assert.equal((await client.leaseRevoke(lease.id)).deleted, 1);
    assert.equal(await client.leaseTimeToLive(lease.id), undefined);
    await assert.rejects(client.leaseKeepAlive(lease.id), (error: unknown) => error instanceof KeelClientError && error.code === 'LEASE_NOT_FOUND');
    await assert.rejects(client.leaseGrant(10, { id: -3 }), (error: unknown) => error instanceof KeelClientError && error.code === 'INVALID_ARGUMENT');
  });
});
