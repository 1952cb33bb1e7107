/**
 * `--auth-token jwt,...` end to end: members started with an ES256 key pair (through
 * KEEL_AUTH_TOKEN) issue JWTs that every member accepts; etcdctl logs in with them; a
 * token minted before an auth change is stale for key requests ("revision of auth
 * store is old"), as with etcd.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';
import { etcdctl, ensureEtcdctl } from './etcdctl.js';
import { http } from '../harness/http.js';

let cluster: Cluster;
let keyDir: string;

before(async () => {
  await ensureEtcdctl();
  keyDir = mkdtempSync(join(tmpdir(), 'keel-jwt-keys-'));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(keyDir, 'jwt.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(keyDir, 'jwt.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const spec = `jwt,pub-key=${join(keyDir, 'jwt.pub')},priv-key=${join(keyDir, 'jwt.key')},sign-method=ES256,ttl=2m`;
  cluster = await Cluster.start({ size: 3, env: { KEEL_AUTH_TOKEN: spec } });
});
after(async () => {
  await cluster?.destroy();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

test('JWTs from one member work on the others, with etcdctl too; an auth change makes them stale for keys', async () => {
  const admin = new Etcd3({ hosts: cluster.nodes.map((n) => `http://${n.grpcEndpoint}`), dialTimeout: 3_000 });
  try {
    await admin.user('root').create('root-pw');
    await admin.user('root').addRole('root');
    await admin.auth.authEnable({});
  } finally {
    admin.close();
  }
  const login = await http(`${cluster.url(1)}/v3/auth/authenticate`, { method: 'POST', body: { name: 'root', password: 'root-pw' } });
  assert.equal(login.status, 200);
  const token = (login.body as { token: string }).token;
  const [header] = token.split('.');
  assert.equal(JSON.parse(Buffer.from(header as string, 'base64url').toString()).alg, 'ES256');
  const bearer = { authorization: `Bearer ${token}` };
  assert.equal((await http(`${cluster.url(2)}/kv/jwt/a`, { method: 'PUT', body: { value: '1' }, headers: bearer })).status, 200);

  const put = await etcdctl(`http://${cluster.node(3).grpcEndpoint}`, ['--user=root:root-pw', 'put', 'jwt/b', '2']);
  assert.equal(put.code, 0, put.stderr);

  // Any auth change moves the auth revision past the token's.
  const role = await etcdctl(`http://${cluster.node(1).grpcEndpoint}`, ['--user=root:root-pw', 'role', 'add', 'later']);
  assert.equal(role.code, 0, role.stderr);
  const stale = await http(`${cluster.url(3)}/kv/jwt/a`, { headers: bearer });
  assert.equal(stale.status, 401);
  assert.equal((stale.body as { error: { code: string } }).error.code, 'AUTH_OLD_REVISION');
  // A new login works again (etcdctl logs in per command).
  const get = await etcdctl(`http://${cluster.node(3).grpcEndpoint}`, ['--user=root:root-pw', 'get', 'jwt/a', '--print-value-only']);
  assert.equal(get.stdout, '1\n', get.stderr);
});
