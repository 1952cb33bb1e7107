/**
 * Authentication with real clients against a real 3-node Keel cluster: the `etcd3` npm
 * client's auth API (users, roles, permissions, `auth: { username, password }`), a
 * client that only knows a follower, the REST API with Basic and Bearer credentials,
 * etcd's JSON gateway, admin routes that need root, and disabling auth again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { createRootAndAppUser } from './auth-setup.js';
import { Cluster } from '../harness/cluster-harness.js';
import { errorCode, http } from '../harness/http.js';
import { basicAuthorization, KeelClient, KeelClientError } from '../client/index.js';
import { WsWatchStream } from './watch-clients.js';

let cluster: Cluster;
let admin: Etcd3;
let follower: number;
const clients: Etcd3[] = [];

const grpcUrl = (id: number): string => `http://${cluster.node(id).grpcEndpoint}`;
const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function connect(hosts: string[], auth?: { username: string; password: string }): Etcd3 {
  const client = new Etcd3({ hosts, dialTimeout: 3_000, ...(auth ? { auth } : {}) });
  clients.push(client);
  return client;
}

before(async () => {
  cluster = await Cluster.start({ size: 3 });
  const { id: leader } = await cluster.waitForLeader();
  follower = [1, 2, 3].find((id) => id !== leader) as number;
  admin = connect([grpcUrl(1), grpcUrl(2), grpcUrl(3)]);
});
after(async () => {
  for (const client of clients) client.close();
  await cluster?.destroy();
});

test('the etcd3 client sets up users and roles and enables auth', async () => {
  await admin.put('app/seed').value('s');
  await admin.put('other/seed').value('o');
  await createRootAndAppUser(admin);
  assert.deepEqual(
    (await admin.user('alice').roles()).map((role) => role.name),
    ['app'],
  );
  const permissions = await admin.role('app').permissions();
  assert.equal(permissions.length, 1);
  assert.equal(permissions[0]?.permission, 'Readwrite');
  await assert.rejects(admin.user('alice').create('again'), /user name already exists/);
  await assert.rejects(admin.role('nope').grant({ permission: 'Read', range: admin.range({ prefix: 'x' }) }), /role name not found/);
  await admin.auth.authEnable({});
  await assert.rejects(admin.get('app/seed').string(), /user name is empty/);
});

test('a user confined to a prefix, through a follower only', async () => {
  const alice = connect([grpcUrl(follower)], { username: 'alice', password: 'alice-pw' });
  await alice.put('app/a').value('1');
  assert.equal(await alice.get('app/a').string(), '1');
  assert.deepEqual(await alice.getAll().prefix('app/').keys(), ['app/a', 'app/seed']);
  await assert.rejects(alice.put('other/a').value('no').exec(), /permission denied/);
  await assert.rejects(alice.get('other/seed').string(), /permission denied/);
  await assert.rejects(alice.getAll().prefix('ap').keys(), /permission denied/);
  await assert.rejects(alice.delete().all().exec(), /permission denied/);
  await assert.rejects(alice.getUsers(), /permission denied/);
  // A transaction needs what both branches need.
  await assert.rejects(
    alice.if('app/a', 'Value', '==', '1').then(alice.put('app/b').value('2')).else(alice.put('other/b').value('3')).commit(),
    /permission denied/,
  );
  // Any authenticated user may hold a lease.
  const lease = alice.lease(10, { autoKeepAlive: false });
  await lease.put('app/leased').value('x');
  await lease.revoke();
  // Watches need read on their range.
  const watcher = await alice.watch().prefix('app/').create();
  const event = new Promise<string>((resolve) => watcher.on('put', (kv) => resolve(kv.value.toString())));
  await alice.put('app/watched').value('seen');
  assert.equal(await event, 'seen');
  await watcher.cancel();

  const wrong = connect([grpcUrl(follower)], { username: 'alice', password: 'wrong' });
  await assert.rejects(wrong.get('app/a').string(), /authentication failed, invalid user ID or password/);
  const root = connect([grpcUrl(follower)], { username: 'root', password: 'root-pw' });
  assert.equal(await root.get('other/seed').string(), 'o');
  assert.deepEqual((await root.getUsers()).map((user) => user.name).sort(), ['alice', 'root']);
});

test('REST: Basic and Bearer credentials, refusals with stable codes, admin routes need root', async () => {
  const url = cluster.url(follower);
  const other = cluster.url(follower === 1 ? 2 : 1);
  assert.equal((await http(`${url}/kv/app/a`, { headers: basic('alice', 'alice-pw') })).status, 200);
  const outside = await http(`${url}/kv/other/seed`, { headers: basic('alice', 'alice-pw') });
  assert.equal(outside.status, 403);
  assert.equal(errorCode(outside), 'PERMISSION_DENIED');
  const nobody = await http(`${url}/kv/app/a`);
  assert.equal(nobody.status, 401);
  assert.equal(errorCode(nobody), 'USER_EMPTY');
  const wrong = await http(`${url}/kv/app/a`, { headers: basic('alice', 'nope') });
  assert.equal(wrong.status, 401);
  assert.equal(errorCode(wrong), 'AUTH_FAILED');
  assert.equal((await http(`${url}/kv/app/rest`, { method: 'PUT', body: { value: 'r' }, headers: basic('alice', 'alice-pw') })).status, 200);
  assert.equal((await http(`${url}/kv?prefix=other/`, { headers: basic('alice', 'alice-pw') })).status, 403);

  // A token from etcd's gateway login, used on another member.
  const login = await http(`${url}/v3/auth/authenticate`, { method: 'POST', body: { name: 'alice', password: 'alice-pw' } });
  assert.equal(login.status, 200);
  const token = (login.body as { token: string }).token;
  assert.ok(token.length > 20);
  assert.equal((await http(`${other}/kv/app/a`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  const range = await http(`${other}/v3/kv/range`, { method: 'POST', body: { key: b64('other/seed') }, headers: { authorization: token } });
  assert.equal(range.status, 403);
  assert.equal((range.body as { error: string }).error, 'etcdserver: permission denied');
  const [payload, mac] = token.split('.') as [string, string];
  const forgedToken = `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
  const forged = await http(`${other}/kv/app/a`, { headers: { authorization: `Bearer ${forgedToken}` } });
  assert.equal(forged.status, 401);
  assert.equal(errorCode(forged), 'INVALID_AUTH_TOKEN');
  // A login is not refused for a stale token that comes with it (as etcd ignores it there).
  const relogin = await http(`${url}/v3/auth/authenticate`, {
    method: 'POST',
    body: { name: 'alice', password: 'alice-pw' },
    headers: { authorization: 'stale' },
  });
  assert.equal(relogin.status, 200);

  // Admin routes and member changes need root; health and status stay open.
  assert.equal((await http(`${url}/admin/alarms`, { headers: basic('alice', 'alice-pw') })).status, 403);
  assert.equal((await http(`${url}/admin/alarms`)).status, 401);
  assert.equal((await http(`${url}/admin/alarms`, { headers: basic('root', 'root-pw') })).status, 200);
  assert.equal((await http(`${url}/members`, { method: 'POST', body: { peerUrls: ['http://127.0.0.1:1'] }, headers: basic('alice', 'alice-pw') })).status, 403);
  assert.equal((await http(`${url}/status`)).status, 200);
  assert.equal((await http(`${url}/ui/events`)).status, 401, 'the dashboard feed needs root');
  assert.equal((await http(`${url}/ui/events?token=${encodeURIComponent(token)}`)).status, 403, 'alice is not root');
  // Keel's own client, with Basic credentials.
  const keel = new KeelClient({ endpoints: [url], authorization: basicAuthorization('alice', 'alice-pw'), retries: 0 });
  await keel.put('app/keel-client', 'k');
  assert.equal((await keel.get('app/keel-client'))?.value.toString(), 'k');
  await assert.rejects(keel.put('other/keel-client', 'no'), (error: unknown) => error instanceof KeelClientError && error.code === 'PERMISSION_DENIED');
  const anonymous = new KeelClient({ endpoints: [url], retries: 0 });
  await assert.rejects(anonymous.get('app/keel-client'), (error: unknown) => error instanceof KeelClientError && error.code === 'USER_EMPTY');

  // A watch stream of keys outside the prefix is refused before it starts.
  assert.equal((await http(`${url}/watch/other/seed`, { headers: basic('alice', 'alice-pw') })).status, 403);
  // etcd's gateway watch: created and canceled at once, with etcd's reason.
  assert.deepEqual(await firstWatchAnswer(url, token, 'other/'), { created: true, canceled: true, cancel_reason: 'etcdserver: permission denied' });
  assert.deepEqual(await firstWatchAnswer(url, token, 'app/'), { created: true });

  // The WebSocket watch stream: each create is checked against the socket's caller
  // (as etcd's gRPC watch: the stream opens, a create without credentials is refused).
  const anonymousWs = await WsWatchStream.open(url);
  try {
    anonymousWs.send({ create: { key: 'app/', prefix: true } });
    await anonymousWs.until((m) => m.length >= 1, 'an answer');
    assert.deepEqual([anonymousWs.messages[0]?.type, anonymousWs.messages[0]?.['code']], ['createFailed', 'USER_EMPTY']);
  } finally {
    anonymousWs.close();
  }
  const ws = await WsWatchStream.open(url, `?token=${encodeURIComponent(token)}`);
  try {
    ws.send({ create: { key: 'app/', prefix: true } });
    ws.send({ create: { key: 'other/', prefix: true } });
    await ws.until((m) => m.length >= 2, 'two answers');
    assert.deepEqual(
      ws.messages.map((m) => [m.type, m['code']]),
      [
        ['created', undefined],
        ['createFailed', 'PERMISSION_DENIED'],
      ],
    );
  } finally {
    ws.close();
  }
});

/** The first answer of a gateway watch stream (POST /v3/watch) of a prefix; the stream is then dropped. */
async function firstWatchAnswer(url: string, token: string, prefix: string): Promise<Record<string, unknown>> {
  const controller = new AbortController();
  const rangeEnd = Buffer.from(prefix);
  rangeEnd[rangeEnd.length - 1] = (rangeEnd[rangeEnd.length - 1] as number) + 1;
  const response = await fetch(`${url}/v3/watch`, {
    method: 'POST',
    headers: { authorization: token },
    body: JSON.stringify({ create_request: { key: b64(prefix), range_end: rangeEnd.toString('base64') } }),
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('utf8');
  }
  controller.abort();
  const { result } = JSON.parse(text.slice(0, text.indexOf('\n'))) as { result: Record<string, unknown> };
  const { created, canceled, cancel_reason } = result;
  return { created, ...(canceled ? { canceled, cancel_reason } : {}) };
}

test('root disables auth and the cluster is open again', async () => {
  const root = connect([grpcUrl(1)], { username: 'root', password: 'root-pw' });
  await root.auth.authDisable({});
  assert.equal(await admin.get('other/seed').string(), 'o');
  assert.equal((await http(`${cluster.url(follower)}/kv/other/seed`)).status, 200);
});
