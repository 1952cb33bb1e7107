/**
 * etcd's --client-cert-auth with auth enabled: a verified client certificate's common
 * name is the user, with no password or token. A TLS cluster whose clients must present
 * a certificate from its CA; root (by a certificate named root) sets up users and roles
 * with etcdctl 3.4 and enables auth; then the certificate named alice may write under
 * app/ and is refused elsewhere, over gRPC (etcdctl) and over REST alike.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../harness/cluster-harness.js';
import { etcdctl } from './etcdctl.js';
import { KeelClient, KeelClientError } from '../client/index.js';
import { readFileSync } from 'node:fs';
import { writeTlsBundle, type TlsBundle } from '../tls/tls-bundle.js';
import { hostsFor, issueCertificate } from '../tls/certificates.js';

let dir: string;
let files: TlsBundle;
let rootCert: { cert: string; key: string };
let cluster: Cluster;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-auth-cert-'));
  // The bundle's client certificate is alice's; root gets one from the same CA.
  files = await writeTlsBundle(join(dir, 'tls'), { serverHosts: hostsFor('127.0.0.1'), clientCommonName: 'alice' });
  const root = await issueCertificate(files.authority, { commonName: 'root', usage: 'client' });
  rootCert = { cert: join(dir, 'root.pem'), key: join(dir, 'root-key.pem') };
  writeFileSync(rootCert.cert, root.cert);
  writeFileSync(rootCert.key, root.key, { mode: 0o600 });
  cluster = await Cluster.start({ size: 3, tls: { files, clientCertAuth: true } });
});
after(async () => {
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const asRoot = (): string[] => [`--cacert=${files.caFile}`, `--cert=${rootCert.cert}`, `--key=${rootCert.key}`];
const asAlice = (): string[] => [`--cacert=${files.caFile}`, `--cert=${files.clientCertFile}`, `--key=${files.clientKeyFile}`];

async function ok(args: string[]): Promise<string> {
  const result = await etcdctl(cluster.grpcEndpoints(), args);
  assert.equal(result.code, 0, `etcdctl ${args.slice(3).join(' ')}: ${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

test("a verified client certificate's common name is the user: alice writes under app/ only, root administers", { timeout: 120_000 }, async () => {
  await ok([...asRoot(), 'user', 'add', 'root', '--new-user-password=root-pw']);
  await ok([...asRoot(), 'user', 'grant-role', 'root', 'root']);
  await ok([...asRoot(), 'role', 'add', 'app']);
  await ok([...asRoot(), 'role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix=true']);
  await ok([...asRoot(), 'user', 'add', 'alice', '--new-user-password=alice-pw']);
  await ok([...asRoot(), 'user', 'grant-role', 'alice', 'app']);
  await ok([...asRoot(), 'auth', 'enable']);

  // No password, no token: the certificate speaks for alice.
  await ok([...asAlice(), 'put', 'app/config', 'v1']);
  assert.equal((await ok([...asAlice(), 'get', 'app/config', '--print-value-only'])).trim(), 'v1');
  const refused = await etcdctl(cluster.grpcEndpoints(), [...asAlice(), 'put', 'other/config', 'v1']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /permission denied/);
  // Root's certificate may write anywhere.
  await ok([...asRoot(), 'put', 'other/config', 'by-root']);

  // REST takes the same certificate as the same user.
  const alice = new KeelClient({
    endpoints: cluster.nodes.map((n) => n.url),
    tls: { ca: readFileSync(files.caFile), cert: readFileSync(files.clientCertFile), key: readFileSync(files.clientKeyFile) },
  });
  await alice.put('app/rest', 'v2');
  assert.equal((await alice.get('app/rest'))?.value, 'v2');
  await assert.rejects(alice.put('other/rest', 'v2'), (error: unknown) => error instanceof KeelClientError && /permission denied/i.test(error.message));
});
