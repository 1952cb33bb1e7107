/**
 * Debian's etcdctl (3.4) against a real 3-node Keel cluster with authentication: users,
 * roles and prefix permissions set up as an operator would, `auth enable`, a user
 * confined to its prefix (refused elsewhere with etcd's words), wrong passwords and
 * missing credentials refused, the state surviving a member's restart, `auth disable`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../harness/cluster-harness.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';

let cluster: Cluster;

before(async () => {
  await ensureEtcdctl();
  cluster = await Cluster.start({ size: 3 });
});
after(async () => cluster?.destroy());

/** One member's endpoint: etcdctl logs in at the member it talks to. */
const endpoint = (id: number): string => `http://127.0.0.1:${cluster.node(id).grpcPort}`;

async function ok(id: number, args: readonly string[]): Promise<string> {
  const result = await etcdctl(endpoint(id), args);
  assert.equal(result.code, 0, `etcdctl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function refused(id: number, args: readonly string[], message: string): Promise<void> {
  const result = await etcdctl(endpoint(id), args);
  assert.notEqual(result.code, 0, `etcdctl ${args.join(' ')} should have failed: ${result.stdout}`);
  assert.ok(result.stderr.includes(message), `etcdctl ${args.join(' ')}: expected "${message}" in: ${result.stderr}`);
}

let alice = '--user=alice:alice-secret';
const root = '--user=root:root-secret';

test('an operator sets up users and roles, enables auth, and a user is confined to its prefix', async () => {
  assert.equal((await ok(1, ['user', 'add', 'root:root-secret'])).trim(), 'User root created');
  assert.equal((await ok(1, ['role', 'add', 'app'])).trim(), 'Role app created');
  assert.match(await ok(2, ['role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix']), /Role app updated/);
  await ok(1, ['user', 'add', 'alice:alice-secret']);
  assert.match(await ok(3, ['user', 'grant-role', 'alice', 'app']), /Role app is granted to user alice/);
  // etcdctl 3.4 creates the root role and grants it when AuthEnable says it is missing.
  assert.match(await ok(1, ['auth', 'enable']), /Authentication Enabled/);

  await refused(1, ['get', 'app/x'], 'etcdserver: user name is empty');
  await refused(2, ['--user=alice:wrong', 'get', 'app/x'], 'etcdserver: authentication failed, invalid user ID or password');
  await refused(2, ['--user=mallory:alice-secret', 'get', 'app/x'], 'etcdserver: authentication failed, invalid user ID or password');

  // Inside the prefix on every member (a follower included); outside refused.
  assert.equal((await ok(2, [alice, 'put', 'app/x', 'one'])).trim(), 'OK');
  assert.equal(await ok(3, [alice, 'get', 'app/x', '--print-value-only']), 'one\n');
  assert.equal(await ok(1, [alice, 'get', 'app/', '--prefix', '--keys-only']), 'app/x\n\n');
  await refused(2, [alice, 'put', 'other/x', 'no'], 'etcdserver: permission denied');
  await refused(2, [alice, 'get', 'other/x'], 'etcdserver: permission denied');
  await refused(3, [alice, 'get', 'app', '--prefix'], 'etcdserver: permission denied');
  await refused(3, [alice, 'del', '', '--from-key'], 'etcdserver: permission denied');
  await refused(1, [alice, 'user', 'list'], 'etcdserver: permission denied');
  await refused(1, [alice, 'compaction', '1'], 'etcdserver: permission denied');
  // A transaction is checked across both branches: the failure branch writes outside.
  const txn = await etcdctl(endpoint(1), [alice, 'txn'], { stdin: 'value("app/x") = "one"\n\nput app/y two\n\nput other/y no\n\n' });
  assert.notEqual(txn.code, 0);
  assert.ok(txn.stderr.includes('etcdserver: permission denied'), txn.stderr);

  assert.equal((await ok(1, [root, 'put', 'other/x', 'root was here'])).trim(), 'OK');
  assert.deepEqual((await ok(2, [root, 'user', 'list'])).trim().split('\n'), ['alice', 'root']);
  assert.match(await ok(3, [root, 'role', 'get', 'app']), /KV Read:\s+\[app\/, app0\) \(prefix app\/\)\s+KV Write:\s+\[app\/, app0\) \(prefix app\/\)/);
  assert.match(await ok(3, [alice, 'user', 'get', 'alice']), /User: alice\s+Roles: app/);

  // Write without read: a put is allowed, its previous value (--prev-kv) and a get are not.
  await ok(1, [root, 'role', 'add', 'writer']);
  await ok(1, [root, 'role', 'grant-permission', 'writer', 'write', 'w/', '--prefix']);
  await ok(1, [root, 'user', 'add', 'bob:bob-secret']);
  await ok(1, [root, 'user', 'grant-role', 'bob', 'writer']);
  const bob = '--user=bob:bob-secret';
  assert.equal((await ok(2, [bob, 'put', 'w/x', '1'])).trim(), 'OK');
  await refused(2, [bob, 'put', 'w/x', '2', '--prev-kv'], 'etcdserver: permission denied');
  await refused(3, [bob, 'get', 'w/x'], 'etcdserver: permission denied');
  assert.equal(await ok(1, [root, 'get', 'w/x', '--print-value-only']), '1\n');
});

test('auth state survives a member restart; changing a password invalidates the old one', async () => {
  await cluster.restart(3, 'stop');
  await cluster.waitForLeader();
  assert.equal(await ok(3, [alice, 'get', 'app/x', '--print-value-only']), 'one\n');
  await refused(3, [alice, 'get', 'other/x'], 'etcdserver: permission denied');

  const passwd = await etcdctl(endpoint(1), [root, 'user', 'passwd', 'alice', '--interactive=false'], { stdin: 'alice-new\n' });
  assert.equal(passwd.code, 0, passwd.stderr);
  assert.match(passwd.stdout, /Password updated/);
  await refused(2, [alice, 'get', 'app/x'], 'etcdserver: authentication failed, invalid user ID or password');
  alice = '--user=alice:alice-new';
  assert.equal(await ok(2, [alice, 'get', 'app/x', '--print-value-only']), 'one\n');
});

test('auth disable opens the cluster again', async () => {
  await refused(2, [alice, 'auth', 'disable'], 'etcdserver: permission denied');
  assert.match(await ok(2, [root, 'auth', 'disable']), /Authentication Disabled/);
  assert.equal(await ok(1, ['get', 'other/x', '--print-value-only']), 'root was here\n');
  // Credentials given to a cluster without auth are ignored, as etcd's client does.
  assert.equal(await ok(2, [alice, 'get', 'other/x', '--print-value-only']), 'root was here\n');
});
