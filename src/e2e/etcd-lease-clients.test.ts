/**
 * Leases through etcd's own clients, unchanged, against a real 3-node Keel cluster:
 * Debian's etcdctl (lease grant / keep-alive --once / timetolive --keys / list / revoke,
 * put --lease) and the `etcd3` npm client (a lease kept alive by its keep-alive stream,
 * revoked, its Lock recipe, and the errors both clients rely on). etcdctl comes from
 * scripts/setup-ci.sh. (etcd3's Election recipe needs the Watch service and is tested with it.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, EtcdLeaseInvalidError, EtcdLockFailedError } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';
import { waitFor } from '../harness/wait-for.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** A lock holder in its own process: acquires the lock (5 s lease, kept alive) and waits to be killed. */
const holderScript = `
import { Etcd3 } from 'etcd3';
const client = new Etcd3({ hosts: JSON.parse(process.env.ETCD_HOSTS), dialTimeout: 3000 });
await client.lock('locks/crash').ttl(5).acquire();
console.log('acquired');
setInterval(() => {}, 60000);
`;

let cluster: Cluster;
let endpoints: string;
let client: Etcd3;

before(async () => {
  await ensureEtcdctl();
  cluster = await Cluster.start({ size: 3 });
  endpoints = cluster.grpcEndpoints();
  client = new Etcd3({ hosts: cluster.nodes.map((n) => `http://${n.grpcEndpoint}`), dialTimeout: 3_000 });
});
after(async () => {
  client?.close();
  await cluster?.destroy();
});

async function ok(args: readonly string[]): Promise<string> {
  const result = await etcdctl(endpoints, args);
  assert.equal(result.code, 0, `etcdctl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function fails(args: readonly string[]): Promise<string> {
  const result = await etcdctl(endpoints, args);
  assert.notEqual(result.code, 0, `etcdctl ${args.join(' ')} should fail; it printed ${result.stdout}`);
  return result.stderr;
}

test('etcdctl: lease grant, put --lease, timetolive --keys, keep-alive --once, list, revoke', async () => {
  const granted = await ok(['lease', 'grant', '60']);
  const match = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/.exec(granted.trim());
  assert.ok(match, granted);
  const id = match[1] as string;
  assert.equal((await ok(['put', '--lease', id, 'ectl/a', '1'])).trim(), 'OK');
  assert.equal((await ok(['put', `--lease=${id}`, 'ectl/b', '2'])).trim(), 'OK');
  const ttl = (await ok(['lease', 'timetolive', id, '--keys'])).trim();
  const ttlMatch = /^lease ([0-9a-f]+) granted with TTL\(60s\), remaining\((\d+)s\), attached keys\(\[ectl\/a ectl\/b\]\)$/.exec(ttl);
  assert.ok(ttlMatch && ttlMatch[1] === id && Number(ttlMatch[2]) <= 60 && Number(ttlMatch[2]) > 0, ttl);
  assert.equal((await ok(['lease', 'keep-alive', '--once', id])).trim(), `lease ${id} keepalived with TTL(60)`);
  assert.match(await ok(['lease', 'list']), new RegExp(`^found \\d+ leases\\n(.*\\n)*${id}\\n`));
  assert.equal((await ok(['lease', 'revoke', id])).trim(), `lease ${id} revoked`);
  assert.equal(await ok(['get', 'ectl/', '--prefix']), '');
  assert.equal((await ok(['lease', 'timetolive', id])).trim(), `lease ${id} already expired`);
});

test('etcdctl: etcd errors for unknown leases', async () => {
  assert.match(await fails(['lease', 'revoke', 'abcdef']), /requested lease not found/);
  assert.match(await fails(['put', '--lease', 'abcdef', 'ectl/x', 'v']), /requested lease not found/);
  assert.equal(await ok(['get', 'ectl/x']), '');
});

test('etcd3: a lease kept alive by the client stream outlives its TTL, attaches keys, and revokes', async () => {
  const lease = client.lease(2);
  let beats = 0;
  lease.on('keepaliveSucceeded', () => beats++);
  const id = await lease.grant();
  await lease.put('e3/lease/k').value('v');
  // The client renews every TTL/3; after several renewals the lease is well past its TTL.
  await waitFor(async () => beats >= 5, { timeoutMs: 20_000, what: 'five keep-alives answered' });
  assert.equal(await client.get('e3/lease/k').string(), 'v');
  const info = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
  assert.equal(info.grantedTTL, '2');
  assert.deepEqual(
    info.keys.map((key) => key.toString()),
    ['e3/lease/k'],
  );
  const ka = await lease.keepaliveOnce();
  assert.equal(ka.TTL, '2');
  await lease.revoke();
  assert.equal(await client.get('e3/lease/k').string(), null);
  const gone = await client.leaseClient.leaseTimeToLive({ ID: id, keys: false });
  assert.equal(gone.TTL, '-1');
});

test('etcd3: a lease left alone expires, its key goes, and the client learns it is lost', async () => {
  const lease = client.lease(1, { autoKeepAlive: false });
  const lost = new Promise<Error>((resolve) => lease.on('lost', resolve));
  const id = await lease.grant();
  await lease.put('e3/lone').value('v');
  await waitFor(async () => (await client.get('e3/lone').string()) === null, { timeoutMs: 20_000, what: 'the key of an expired lease to go' });
  await assert.rejects(lease.keepaliveOnce(), EtcdLeaseInvalidError);
  assert.ok((await lost) instanceof EtcdLeaseInvalidError);
  await assert.rejects(client.leaseClient.leaseRevoke({ ID: id }), EtcdLeaseInvalidError);
  await assert.rejects(client.put('e3/orphan').value('v').lease(id).exec(), EtcdLeaseInvalidError);
});

test("etcd's JSON gateway: lease grant, timetolive with keys, keepalive, leases, revoke, and NOT_FOUND", async () => {
  const base = cluster.url(2);
  const post = async (path: string, body: object): Promise<{ status: number; json: Record<string, any> }> => {
    const response = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };
  const granted = await post('/v3/lease/grant', { TTL: '45' });
  assert.equal(granted.status, 200, JSON.stringify(granted.json));
  const id = granted.json.ID as string;
  assert.match(id, /^\d+$/);
  assert.equal(granted.json.TTL, '45');
  const put = await post('/v3/kv/put', { key: Buffer.from('gwl/k').toString('base64'), value: 'dg==', lease: id });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  const ttl = await post('/v3/kv/lease/timetolive', { ID: id, keys: true });
  assert.deepEqual([ttl.json.grantedTTL, ttl.json.keys], ['45', [Buffer.from('gwl/k').toString('base64')]]);
  const kept = await post('/v3/lease/keepalive', { ID: id });
  assert.deepEqual([kept.json.result?.ID, kept.json.result?.TTL], [id, '45'], JSON.stringify(kept.json));
  const leases = await post('/v3/lease/leases', {});
  assert.ok(
    (leases.json.leases as { ID: string }[]).some((l) => l.ID === id),
    JSON.stringify(leases.json),
  );
  const revoked = await post('/v3/kv/lease/revoke', { ID: id });
  assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
  const again = await post('/v3/lease/revoke', { ID: id });
  assert.deepEqual([again.status, again.json.message], [404, 'etcdserver: requested lease not found']);
  const expired = await post('/v3/lease/timetolive', { ID: id });
  assert.equal(expired.json.TTL, '-1');
});

test('etcd3 Lock: one holder at a time; released by release(), and by lease expiry when its holder goes', async () => {
  const first = client.lock('locks/job');
  await first.acquire();
  await assert.rejects(client.lock('locks/job').acquire(), EtcdLockFailedError);
  await first.release();
  const second = client.lock('locks/job');
  await second.acquire();
  await second.release();

  // A holder whose process dies (kill -9) stops renewing; its lock frees itself once the lease expires.
  const holder = spawn(process.execPath, ['--input-type=module', '-e', holderScript], {
    cwd: repositoryRoot,
    env: { ...process.env, ETCD_HOSTS: JSON.stringify(cluster.nodes.map((n) => `http://${n.grpcEndpoint}`)) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(holder, 'exit');
  try {
    let output = '';
    holder.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    holder.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await waitFor(async () => output.includes('acquired'), { timeoutMs: 20_000, what: 'the holder process to acquire the lock', explain: async () => output });
  } finally {
    holder.kill('SIGKILL');
    await exited;
  }
  await assert.rejects(client.lock('locks/crash').acquire(), EtcdLockFailedError);
  const survivor = client.lock('locks/crash');
  await waitFor(
    async () =>
      survivor.acquire().then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000, what: 'the lock of a vanished holder to free itself', intervalMs: 250 },
  );
  await survivor.release();
});
