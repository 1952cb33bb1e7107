/**
 * etcd's Lock and Election services on a real 3-node Keel cluster, called with raw
 * grpc-js clients (every method, on the leader and on followers) and through the JSON
 * gateway, with etcd 3.4's answers and errors (recorded from a real etcd 3.4; where
 * Keel differs on purpose, docs/reference/etcd-compatibility.md says why).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';
import { waitFor } from '../harness/wait-for.js';
import { RecipeClients, text, type Message } from './recipe-grpc.js';
import { createRootAndAppUser, aliceLogin } from './auth-setup.js';

const LOCK = 'v3lockpb.Lock';
const ELECTION = 'v3electionpb.Election';
const KV = 'etcdserverpb.KV';
const LEASE = 'etcdserverpb.Lease';

let cluster: Cluster;
let onLeader: RecipeClients;
let onFollower: RecipeClients;
let followerUrl: string;

before(async () => {
  cluster = await Cluster.start({ size: 3 });
  const leader = (await cluster.waitForLeader()).id;
  const follower = cluster.runningIds().find((id) => id !== leader) as number;
  onLeader = new RecipeClients(cluster.node(leader).grpcEndpoint);
  onFollower = new RecipeClients(cluster.node(follower).grpcEndpoint);
  followerUrl = cluster.url(follower);
});
after(async () => {
  onLeader?.close();
  onFollower?.close();
  await cluster?.destroy();
});

const bytes = (value: string): Buffer => Buffer.from(value);
const hex = (leaseId: unknown): string => BigInt(String(leaseId)).toString(16);

async function grant(ttlSeconds: number): Promise<string> {
  return String((await onLeader.ok(LEASE, 'LeaseGrant', { TTL: ttlSeconds })).ID);
}

/** The keys under `prefix`, as text, oldest first. */
async function keysUnder(prefix: string): Promise<string[]> {
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  const answer = await onLeader.ok(KV, 'Range', { key: bytes(prefix), range_end: end, sort_target: 'CREATE', sort_order: 'ASCEND' });
  return (answer.kvs as Message[]).map((kv) => text(kv.key));
}

/** Waits until the follower serves no watcher: every waiter and observer has let go of its watches. */
async function noWatchersLeft(): Promise<void> {
  const watchers = async (): Promise<number> => ((await (await fetch(`${followerUrl}/status`)).json()) as { watchers: number }).watchers;
  await waitFor(async () => (await watchers()) === 0, {
    timeoutMs: 10_000,
    what: 'the follower to serve no watcher',
    explain: async () => `${await watchers()} watchers`,
  });
}

/** Tells whether a promise has settled, without waiting for it. */
function settled(promise: Promise<unknown>): () => boolean {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

test('Lock: a second locker, on a follower, waits until the first unlocks', async () => {
  const [first, second] = [await grant(60), await grant(60)];
  const held = await onLeader.ok(LOCK, 'Lock', { name: bytes('jobs'), lease: first });
  assert.equal(text(held.key), `jobs/${hex(first)}`);

  const waiting = onFollower.call(LOCK, 'Lock', { name: bytes('jobs'), lease: second });
  const done = settled(waiting);
  // The waiter's key is in line behind the holder's; it holds nothing yet.
  await waitFor(async () => (await keysUnder('jobs/')).length === 2, { timeoutMs: 10_000, what: "the second locker's key" });
  assert.deepEqual(await keysUnder('jobs/'), [`jobs/${hex(first)}`, `jobs/${hex(second)}`]);
  assert.equal(done(), false, 'the second locker got the lock while the first held it');

  const unlocked = await onLeader.ok(LOCK, 'Unlock', { key: held.key });
  const got = await waiting;
  assert.equal(got.err, undefined, JSON.stringify(got.err));
  assert.equal(text(got.key), `jobs/${hex(second)}`);
  assert.ok(Number((got.header as Message).revision) >= Number((unlocked.header as Message).revision));
  await onFollower.ok(LOCK, 'Unlock', { key: got.key });
  assert.deepEqual(await keysUnder('jobs/'), []);
});

test('Lock: a holder whose lease expires hands the lock on; a waiter whose lease expires is told and leaves no key', async () => {
  const [shortLived, longLived] = [await grant(2), await grant(60)];
  await onLeader.ok(LOCK, 'Lock', { name: bytes('expiring'), lease: shortLived });
  // Nobody keeps the holder's lease alive: the next in line gets the lock when it expires.
  const next = await onFollower.ok(LOCK, 'Lock', { name: bytes('expiring'), lease: longLived });
  assert.equal(text(next.key), `expiring/${hex(longLived)}`);

  // Granted only now: the holder's wait above outlasted a lease as short.
  const alsoShort = await grant(2);
  const doomed = await onFollower.call(LOCK, 'Lock', { name: bytes('expiring'), lease: alsoShort });
  assert.deepEqual(doomed.err, { code: status.UNKNOWN, details: 'mutex: session is expired' });
  assert.deepEqual(await keysUnder('expiring/'), [`expiring/${hex(longLived)}`]);
  await noWatchersLeft();
});

test('Lock: a waiter whose client goes away leaves no key; no lease gets one of 60 s; errors as etcd', async () => {
  const [holder, quitter] = [await grant(60), await grant(60)];
  await onLeader.ok(LOCK, 'Lock', { name: bytes('quit'), lease: holder });
  const gaveUp = await onFollower.call(LOCK, 'Lock', { name: bytes('quit'), lease: quitter }, { deadlineMs: 1_000 });
  assert.equal(gaveUp.err?.code, status.DEADLINE_EXCEEDED);
  await waitFor(async () => (await keysUnder('quit/')).length === 1, { timeoutMs: 10_000, what: "the quitter's key to go" });
  assert.deepEqual(await keysUnder('quit/'), [`quit/${hex(holder)}`]);
  await noWatchersLeft();

  // No lease: the server grants one of etcd's session TTL and nobody keeps it alive.
  const leaseless = await onFollower.ok(LOCK, 'Lock', { name: bytes('leaseless') });
  const [key] = await keysUnder('leaseless/');
  assert.equal(text(leaseless.key), key);
  const granted = (await onLeader.ok(KV, 'Range', { key: leaseless.key })).kvs as Message[];
  const ttl = await onLeader.ok(LEASE, 'LeaseTimeToLive', { ID: granted[0]?.lease });
  assert.equal(ttl.grantedTTL, '60');
  assert.equal(text(leaseless.key), `leaseless/${hex(granted[0]?.lease)}`);

  assert.deepEqual((await onLeader.call(LOCK, 'Lock', { name: bytes('x'), lease: '12345' })).err, {
    code: status.NOT_FOUND,
    details: 'etcdserver: requested lease not found',
  });
  assert.deepEqual((await onLeader.call(LOCK, 'Unlock', { key: bytes('') })).err, {
    code: status.INVALID_ARGUMENT,
    details: 'etcdserver: key is not provided',
  });
  // Unlocking what is not held is no error, as in etcd.
  assert.ok((await onLeader.ok(LOCK, 'Unlock', { key: bytes('quit/none') })).header);
});

test('Election: campaign, leader, proclaim, observe a leader change, resign', async () => {
  assert.deepEqual((await onFollower.call(ELECTION, 'Leader', { name: bytes('pool') })).err, { code: status.UNKNOWN, details: 'election: no leader' });
  const seen: string[] = [];
  const observer = onFollower.observe('pool');
  observer.on('data', (response: Message) => seen.push(text((response.kv as Message).value)));
  const observerGone = new Promise<void>((resolve) => observer.on('error', () => resolve()));

  const [a, b] = [await grant(60), await grant(60)];
  const won = await onLeader.ok(ELECTION, 'Campaign', { name: bytes('pool'), lease: a, value: bytes('alpha') });
  const leaderKey = won.leader as Message;
  assert.deepEqual({ name: text(leaderKey.name), key: text(leaderKey.key), lease: leaderKey.lease }, { name: 'pool', key: `pool/${hex(a)}`, lease: a });
  assert.equal(leaderKey.rev, (won.header as Message).revision);
  await waitFor(async () => seen.includes('alpha'), { timeoutMs: 10_000, what: 'the observer to see alpha' });

  const second = onFollower.call(ELECTION, 'Campaign', { name: bytes('pool'), lease: b, value: bytes('beta') });
  const secondDone = settled(second);
  await waitFor(async () => (await keysUnder('pool/')).length === 2, { timeoutMs: 10_000, what: "beta's candidacy" });
  assert.equal(secondDone(), false, 'beta was elected while alpha led');

  await onLeader.ok(ELECTION, 'Proclaim', { leader: leaderKey, value: bytes('alpha-2') });
  const current = await onFollower.ok(ELECTION, 'Leader', { name: bytes('pool') });
  assert.equal(text((current.kv as Message).value), 'alpha-2');
  await waitFor(async () => seen.includes('alpha-2'), { timeoutMs: 10_000, what: 'the observer to see the proclaimed value' });

  // Campaigning again with the same lease keeps the place and takes the new value.
  const again = await onLeader.ok(ELECTION, 'Campaign', { name: bytes('pool'), lease: a, value: bytes('alpha-3') });
  assert.equal((again.leader as Message).rev, leaderKey.rev);
  await waitFor(async () => seen.includes('alpha-3'), { timeoutMs: 10_000, what: 'the observer to see the new campaign value' });

  await onLeader.ok(ELECTION, 'Resign', { leader: leaderKey });
  const elected = await second;
  assert.equal(elected.err, undefined, JSON.stringify(elected.err));
  assert.equal(text((elected.leader as Message).key), `pool/${hex(b)}`);
  await waitFor(async () => seen.at(-1) === 'beta', { timeoutMs: 10_000, what: 'the observer to see beta lead' });
  assert.deepEqual(seen, ['alpha', 'alpha-2', 'alpha-3', 'beta']);

  const stale = await onLeader.call(ELECTION, 'Proclaim', { leader: leaderKey, value: bytes('late') });
  assert.deepEqual(stale.err, { code: status.UNKNOWN, details: 'election: not leader' });
  assert.deepEqual((await onLeader.call(ELECTION, 'Proclaim', { value: bytes('v') })).err, {
    code: status.UNKNOWN,
    details: '"leader" field must be provided',
  });
  assert.deepEqual((await onLeader.call(ELECTION, 'Resign', {})).err, { code: status.UNKNOWN, details: '"leader" field must be provided' });
  // Resigning a leadership already lost changes nothing and is no error, as in etcd.
  await onLeader.ok(ELECTION, 'Resign', { leader: leaderKey });
  assert.deepEqual(await keysUnder('pool/'), [`pool/${hex(b)}`]);
  await onFollower.ok(ELECTION, 'Resign', { leader: elected.leader as Message });
  assert.deepEqual(await keysUnder('pool/'), []);
  observer.cancel();
  await observerGone;
  await noWatchersLeft();
});

test('Election: a candidate whose client goes away resigns', async () => {
  const [a, b] = [await grant(60), await grant(60)];
  await onLeader.ok(ELECTION, 'Campaign', { name: bytes('quitters'), lease: a, value: bytes('a') });
  const gaveUp = await onFollower.call(ELECTION, 'Campaign', { name: bytes('quitters'), lease: b, value: bytes('b') }, { deadlineMs: 1_000 });
  assert.equal(gaveUp.err?.code, status.DEADLINE_EXCEEDED);
  await waitFor(async () => (await keysUnder('quitters/')).length === 1, { timeoutMs: 10_000, what: "the quitter's candidacy to go" });
  await noWatchersLeft();
});

/** A gateway call: POST with a JSON body; answers the status and the JSON. */
async function gateway(path: string, body: Message): Promise<{ status: number; json: Message }> {
  const response = await fetch(`${followerUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Message };
}
const b64 = (value: string): string => Buffer.from(value).toString('base64');

test('the JSON gateway: lock, unlock, campaign, leader, proclaim, observe, resign', async () => {
  const lease = await grant(60);
  const locked = await gateway('/v3/lock/lock', { name: b64('gw'), lease });
  assert.equal(locked.status, 200);
  assert.equal(locked.json.key, b64(`gw/${hex(lease)}`));
  assert.equal(typeof (locked.json.header as Message).revision, 'string');
  // A waiting lock whose HTTP client hangs up gives up its place.
  const other = await grant(60);
  const hangingUp = new AbortController();
  const waiting = fetch(`${followerUrl}/v3/lock/lock`, { method: 'POST', body: JSON.stringify({ name: b64('gw'), lease: other }), signal: hangingUp.signal });
  await waitFor(async () => (await keysUnder('gw/')).length === 2, { timeoutMs: 10_000, what: "the waiting HTTP locker's key" });
  hangingUp.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
  await waitFor(async () => (await keysUnder('gw/')).length === 1, { timeoutMs: 10_000, what: "the HTTP locker's key to go" });
  await noWatchersLeft();
  assert.equal((await gateway('/v3/lock/unlock', { key: locked.json.key as string })).status, 200);
  assert.deepEqual(await keysUnder('gw/'), []);

  const none = await gateway('/v3/election/leader', { name: b64('gwe') });
  assert.deepEqual(none, { status: 500, json: { error: 'election: no leader', code: status.UNKNOWN, message: 'election: no leader' } });

  const observe = new AbortController();
  const stream = await fetch(`${followerUrl}/v3/election/observe`, { method: 'POST', body: JSON.stringify({ name: b64('gwe') }), signal: observe.signal });
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();

  const won = await gateway('/v3/election/campaign', { name: b64('gwe'), lease, value: b64('one') });
  assert.equal(won.status, 200);
  const leader = won.json.leader as Message;
  assert.deepEqual(leader, { name: b64('gwe'), key: b64(`gwe/${hex(lease)}`), rev: (won.json.header as Message).revision, lease });
  assert.equal((await gateway('/v3/election/proclaim', { leader, value: b64('two') })).status, 200);
  const current = await gateway('/v3/election/leader', { name: b64('gwe') });
  assert.equal((current.json.kv as Message).value, b64('two'));

  // The stream: newline-separated {"result": LeaderResponse}, one per change.
  let buffered = '';
  const values: string[] = [];
  await waitFor(
    async () => {
      const chunk = await reader.read();
      buffered += new TextDecoder().decode(chunk.value);
      for (const line of buffered.split('\n').slice(0, -1))
        values.push(Buffer.from(String(((JSON.parse(line) as Message).result as Message & { kv: Message }).kv.value), 'base64').toString());
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      return values.includes('two');
    },
    { timeoutMs: 10_000, what: 'the observe stream to carry both values' },
  );
  assert.deepEqual(values, ['one', 'two']);
  observe.abort();
  await noWatchersLeft();

  assert.equal((await gateway('/v3/election/resign', { leader })).status, 200);
  const stale = await gateway('/v3/election/proclaim', { leader, value: b64('three') });
  assert.deepEqual(stale, { status: 500, json: { error: 'election: not leader', code: status.UNKNOWN, message: 'election: not leader' } });
  assert.deepEqual(await keysUnder('gwe/'), []);
});

test('with auth enabled, each method needs the permissions of the keys it touches', async () => {
  const admin = new Etcd3({ hosts: [`http://${cluster.node(1).grpcEndpoint}`], dialTimeout: 3_000 });
  try {
    await createRootAndAppUser(admin);
    await admin.auth.authEnable({});
  } finally {
    admin.close();
  }
  const login = await onFollower.ok('etcdserverpb.Auth', 'Authenticate', { name: aliceLogin.username, password: aliceLogin.password });
  const alice = new RecipeClients(cluster.node(1).grpcEndpoint, String(login.token));
  try {
    const lease = String((await alice.ok(LEASE, 'LeaseGrant', { TTL: 60 })).ID);
    const locked = await alice.ok(LOCK, 'Lock', { name: bytes('app/lock'), lease });
    assert.equal(text(locked.key), `app/lock/${hex(lease)}`);
    await alice.ok(LOCK, 'Unlock', { key: locked.key });
    const won = await alice.ok(ELECTION, 'Campaign', { name: bytes('app/election'), lease, value: bytes('me') });
    await alice.ok(ELECTION, 'Proclaim', { leader: won.leader, value: bytes('me-2') });
    assert.equal(text(((await alice.ok(ELECTION, 'Leader', { name: bytes('app/election') })).kv as Message).value), 'me-2');
    await alice.ok(ELECTION, 'Resign', { leader: won.leader });

    const denied = { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' };
    assert.deepEqual((await alice.call(LOCK, 'Lock', { name: bytes('other/lock'), lease })).err, denied);
    assert.deepEqual((await alice.call(LOCK, 'Unlock', { key: bytes('other/lock/1') })).err, denied);
    assert.deepEqual((await alice.call(ELECTION, 'Campaign', { name: bytes('other/e'), lease, value: bytes('me') })).err, denied);
    assert.deepEqual((await alice.call(ELECTION, 'Leader', { name: bytes('other/e') })).err, denied);
    assert.deepEqual((await alice.call(ELECTION, 'Resign', { leader: { name: bytes('other/e'), key: bytes('other/e/1'), rev: 1, lease } })).err, denied);
    const observer = alice.observe('other/e');
    const refused = await new Promise<{ code: number; details: string }>((resolve) =>
      observer.on('error', (error: { code: number; details: string }) => resolve(error)),
    );
    assert.deepEqual({ code: refused.code, details: refused.details }, denied);
    // Without a token, nothing at all.
    const anonymous = await onFollower.call(LOCK, 'Lock', { name: bytes('app/lock'), lease });
    assert.deepEqual(anonymous.err, { code: status.INVALID_ARGUMENT, details: 'etcdserver: user name is empty' });
  } finally {
    alice.close();
  }
});
