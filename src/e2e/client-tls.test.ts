/**
 * Client TLS on a real 3-node cluster started with --cert-file, --key-file,
 * --trusted-ca-file and --client-cert-auth: etcdctl, the `etcd3` npm client (with its
 * lock, election and STM), raw gRPC calls of the Lock and Election services, the
 * TypeScript client (REST over https), a WebSocket watch over wss and the `keel` CLI
 * all work with the CA and a client certificate; a client without one is refused at
 * the handshake; and the certificate is rotated by replacing its files, on the HTTP and
 * the gRPC listener, without a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { credentials } from '@grpc/grpc-js';
import { Etcd3, Isolation } from 'etcd3';
import { Cluster } from '../harness/cluster-harness.js';
import { runKeel } from '../cli/testing/run-keel.js';
import { etcdctl } from './etcdctl.js';
import { waitFor } from '../harness/wait-for.js';
import { freePorts } from '../harness/free-ports.js';
import { KeelClient } from '../client/keel-client.js';
import { writeTlsBundle, type TlsBundle } from '../tls/tls-bundle.js';
import { createCertificateAuthority, hostsFor, issueCertificate } from '../tls/certificates.js';
import { RecipeClients, text } from './recipe-grpc.js';

let dir: string;
let files: TlsBundle;
let cluster: Cluster;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-client-tls-'));
  files = await writeTlsBundle(join(dir, 'tls'), { serverHosts: hostsFor('127.0.0.1'), clientCommonName: 'alice' });
  cluster = await Cluster.start({ size: 3, tls: { files, clientCertAuth: true } });
});
after(async () => {
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const tlsFlags = (): string[] => [`--cacert=${files.caFile}`, `--cert=${files.clientCertFile}`, `--key=${files.clientKeyFile}`];

test('advertised client URLs are https', async () => {
  const client = tsClient();
  const members = await client.members();
  for (const member of members.members) for (const url of member.clientUrls) assert.match(url, /^https:\/\//);
});

test('etcdctl 3.4 with --cacert --cert --key: put, get, member list, watch', async () => {
  const endpoints = cluster.grpcEndpoints();
  const put = await etcdctl(endpoints, [...tlsFlags(), 'put', 'tls/etcdctl', 'over-tls']);
  assert.equal(put.code, 0, put.stderr);
  const get = await etcdctl(endpoints, [...tlsFlags(), 'get', 'tls/etcdctl', '--print-value-only']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout.trim(), 'over-tls');
  const members = await etcdctl(endpoints, [...tlsFlags(), 'member', 'list']);
  assert.equal(members.code, 0, members.stderr);
  assert.equal(members.stdout.trim().split('\n').length, 3, members.stdout);
  const watching = etcdctl(endpoints, [...tlsFlags(), 'watch', 'tls/watched'], { timeoutMs: 8_000 });
  // The watch is running once a put made after it shows; keep writing until etcdctl
  // (killed at its own deadline) has printed one, or it ended.
  const writer = tsClient();
  let n = 0;
  let watchEnded = false;
  void watching.then(() => (watchEnded = true));
  await waitFor(
    async () => {
      if (watchEnded) return true;
      await writer.put('tls/watched', `v${n++}`);
      return false;
    },
    { timeoutMs: 10_000, what: 'etcdctl watch to end after seeing a put', intervalMs: 200 },
  );
  const result = await watching;
  assert.match(result.stdout, /PUT\ntls\/watched\nv\d+/);
});

test('a membership change sent to a follower is forwarded to the leader over TLS', async () => {
  const { id: leader } = await cluster.waitForLeader();
  const follower = cluster.members().find((n) => n.id !== leader);
  assert.ok(follower);
  const [spare] = await freePorts(1);
  const add = await etcdctl(follower.grpcEndpoint, [...tlsFlags(), 'member', 'add', 'tls-learner', '--learner', `--peer-urls=http://127.0.0.1:${spare}`]);
  assert.equal(add.code, 0, `${add.stdout}\n${add.stderr}`);
  const id = /Member\s+([0-9a-f]+) added/.exec(add.stdout)?.[1];
  assert.ok(id, add.stdout);
  const remove = await etcdctl(follower.grpcEndpoint, [...tlsFlags(), 'member', 'remove', id]);
  assert.equal(remove.code, 0, `${remove.stdout}\n${remove.stderr}`);
});

test('a client without a certificate is refused at the handshake, on both listeners', async () => {
  const endpoints = cluster.grpcEndpoints();
  const noCert = await etcdctl(endpoints, [`--cacert=${files.caFile}`, 'get', 'tls/etcdctl'], { timeoutMs: 15_000 });
  assert.notEqual(noCert.code, 0, noCert.stdout);
  const client = new KeelClient({ endpoints: [cluster.url(1)], tls: { ca: readFileSync(files.caFile) }, retries: 0, timeoutMs: 3_000 });
  await assert.rejects(client.get('tls/etcdctl'), (error: Error) => /NETWORK_ERROR|certificate|handshake|socket/i.test(String(error)));
  // A certificate from another CA is refused too.
  const stranger = await issueCertificate(await createCertificateAuthority('stranger'), { commonName: 'mallory', usage: 'client' });
  const strangerClient = new KeelClient({
    endpoints: [cluster.url(1)],
    tls: { ca: readFileSync(files.caFile), cert: stranger.cert, key: stranger.key },
    retries: 0,
    timeoutMs: 3_000,
  });
  await assert.rejects(strangerClient.get('tls/etcdctl'));
});

test('the etcd3 npm client over TLS (credentials option)', async () => {
  const client = new Etcd3({
    hosts: cluster.nodes.map((n) => `https://${n.grpcEndpoint}`),
    credentials: { rootCertificate: readFileSync(files.caFile), certChain: readFileSync(files.clientCertFile), privateKey: readFileSync(files.clientKeyFile) },
    dialTimeout: 3_000,
  });
  try {
    await client.put('tls/etcd3').value('yes');
    assert.equal(await client.get('tls/etcd3').string(), 'yes');
  } finally {
    client.close();
  }
});

test("over TLS: the Lock and Election services, and the etcd3 client's lock, election and STM", async () => {
  const channel = credentials.createSsl(readFileSync(files.caFile), readFileSync(files.clientKeyFile), readFileSync(files.clientCertFile));
  const raw = new RecipeClients(cluster.node(1).grpcEndpoint, undefined, channel);
  const client = new Etcd3({
    hosts: cluster.nodes.map((n) => `https://${n.grpcEndpoint}`),
    credentials: { rootCertificate: readFileSync(files.caFile), certChain: readFileSync(files.clientCertFile), privateKey: readFileSync(files.clientKeyFile) },
    dialTimeout: 3_000,
  });
  try {
    const lease = (await raw.ok('etcdserverpb.Lease', 'LeaseGrant', { TTL: 30 })).ID;
    const locked = await raw.ok('v3lockpb.Lock', 'Lock', { name: Buffer.from('tls-lock'), lease });
    assert.match(text(locked.key), /^tls-lock\//);
    await raw.ok('v3lockpb.Lock', 'Unlock', { key: locked.key });
    const won = await raw.ok('v3electionpb.Election', 'Campaign', { name: Buffer.from('tls-election'), lease, value: Buffer.from('me') });
    await raw.ok('v3electionpb.Election', 'Resign', { leader: won.leader });

    await client.lock('tls/lock').do(async () => assert.equal((await client.getAll().prefix('tls/lock').keys()).length, 1));
    const campaign = client.election('tls/election', 5).campaign('leader');
    await campaign.wait();
    assert.equal(await client.election('tls/election').leader(), 'leader');
    await campaign.resign();
    await client
      .stm({ isolation: Isolation.Serializable })
      .transact(async (tx) => tx.put('tls/stm').value(String(Number((await tx.get('tls/stm').string()) ?? 0) + 1)));
    assert.equal(await client.get('tls/stm').string(), '1');
  } finally {
    raw.close();
    client.close();
  }
});

test('REST over https with the TypeScript client, its watch (server-sent events) over https, and a WebSocket watch over wss', async () => {
  const client = tsClient();
  const { revision } = await client.put('tls/rest', 'value');
  assert.equal((await client.get('tls/rest'))?.value.toString(), 'value');
  const stop = new AbortController();
  const watch = client.watch('tls/rest', { revision, signal: stop.signal });
  const first = await watch.next();
  stop.abort();
  assert.equal(first.done, false);
  assert.equal(Buffer.from(first.value?.events[0]?.kv.value ?? []).toString(), 'value');
  const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string, options: object) => WsSocket };
  const socket = new WebSocket(`${cluster.url(2).replace(/^https/, 'wss')}/watch/ws`, {
    ca: readFileSync(files.caFile),
    cert: readFileSync(files.clientCertFile),
    key: readFileSync(files.clientKeyFile),
  });
  const messages: Array<{ type: string; events?: unknown[] }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as { type: string }));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => resolve());
    socket.on('error', reject);
  });
  try {
    socket.send(JSON.stringify({ create: { key: 'tls/ws' } }));
    await waitFor(async () => messages.some((m) => m.type === 'created'), { timeoutMs: 10_000, what: 'the wss watcher to be created' });
    await client.put('tls/ws', 'seen');
    await waitFor(async () => messages.some((m) => m.type === 'events'), { timeoutMs: 10_000, what: 'the put to arrive over wss' });
  } finally {
    socket.close();
  }
});

test('keel CLI with --cacert --cert --key', async () => {
  const endpoints = `--endpoints=${cluster
    .members()
    .map((n) => n.url)
    .join(',')}`;
  const put = await runKeel(['put', 'tls/cli', 'from-cli', endpoints, ...tlsFlags()]);
  assert.equal(put.code, 0, put.stderr);
  const get = await runKeel(['get', 'tls/cli', endpoints, ...tlsFlags()]);
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /from-cli/);
  const without = await runKeel(['get', 'tls/cli', endpoints, `--cacert=${files.caFile}`, '--timeout=2000']);
  assert.notEqual(without.code, 0);
  const snapshotFile = join(dir, 'snapshot.db');
  const save = await runKeel(['snapshot', 'save', snapshotFile, endpoints, ...tlsFlags()]);
  assert.equal(save.code, 0, save.stderr);
  assert.ok(statSync(snapshotFile).size > 0);
});

test('certificate rotation without restart, on the HTTP and the gRPC listener', async () => {
  const node = cluster.node(1);
  const grpcPort = Number(node.grpcEndpoint.split(':')[1]);
  const before = await serialAt(node.clientPort);
  assert.equal(await serialAt(grpcPort, ['h2']), before);
  // A connection opened before the rotation keeps serving after it.
  const open = await handshake(node.clientPort);

  // A bad file at rotation is logged and the old certificate stays.
  writeFileSync(files.serverCertFile, 'not a certificate');
  await waitFor(async () => node.logSinceStart().includes('cannot be used; the old certificate stays'), {
    timeoutMs: 10_000,
    what: 'the bad certificate file to be reported',
  });
  assert.equal(await serialAt(node.clientPort), before);
  assert.equal(await serialAt(grpcPort, ['h2']), before);

  // Rotate: new key and certificate from the same CA, each file replaced by a rename.
  const next = await issueCertificate(files.authority, { commonName: 'keel server', hosts: hostsFor('127.0.0.1'), usage: 'peer' });
  replaceFile(files.serverKeyFile, next.key);
  replaceFile(files.serverCertFile, next.cert);
  const rotated = new X509Certificate(next.cert).serialNumber;
  assert.notEqual(rotated, before);
  await waitFor(async () => (await serialAt(node.clientPort)) === rotated, { timeoutMs: 15_000, what: 'new HTTP connections to get the new certificate' });
  await waitFor(async () => (await serialAt(grpcPort, ['h2'])) === rotated, { timeoutMs: 15_000, what: 'new gRPC connections to get the new certificate' });

  const status = await requestOver(open, 'GET /status HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
  assert.match(status, /^HTTP\/1\.1 200/);
  // And clients still work against the rotated listeners.
  await tsClient().put('tls/after-rotation', 'ok');
  const get = await etcdctl(cluster.grpcEndpoints(), [...tlsFlags(), 'get', 'tls/after-rotation', '--print-value-only']);
  assert.equal(get.stdout.trim(), 'ok', get.stderr);
});

// ---------------------------------------------------------------------------

interface WsSocket {
  on(event: 'open', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  send(data: string): void;
  close(): void;
}

function tsClient(): KeelClient {
  return new KeelClient({
    endpoints: cluster.members().map((n) => n.url),
    tls: { ca: readFileSync(files.caFile), cert: readFileSync(files.clientCertFile), key: readFileSync(files.clientKeyFile) },
  });
}

/** A TLS connection with the bundle's client certificate. */
function handshake(port: number, alpn?: string[]): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(files.caFile),
      cert: readFileSync(files.clientCertFile),
      key: readFileSync(files.clientKeyFile),
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The serial number of the certificate a new connection to `port` is shown. */
async function serialAt(port: number, alpn?: string[]): Promise<string> {
  const socket = await handshake(port, alpn);
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

function requestOver(socket: TLSSocket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += String(chunk)));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(request);
  });
}

/** Writes a new file and renames it over the old one, as certificate tools do. */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.new`, content, { mode: 0o600 });
  renameSync(`${path}.new`, path);
}
