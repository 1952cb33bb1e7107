/**
 * One client port per node, like etcd's: on a real node's single client port, plain and
 * with TLS and --client-cert-auth, every kind of client works side by side: etcdctl 3.4
 * (its --cluster commands included, which dial the members' advertised client URLs), the
 * `etcd3` npm client, a raw grpc-js client, REST over fetch, the JSON gateway, /health,
 * /metrics, a WebSocket watch and the dashboard page. A connection that sends nothing is
 * closed after the stated timeout; garbage first bytes get a clean close.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ChannelCredentials, GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { Cluster } from '../harness/cluster-harness.js';
import type { ClusterNode } from '../harness/cluster-harness.js';
import { etcdctl } from './etcdctl.js';
import { waitFor } from '../harness/wait-for.js';
import { etcdPackageDefinition } from '../proto/etcd-proto.js';
import { firstBytesTimeoutMsDefault } from '../api/client-port.js';
import { fetchWithTls } from '../tls/https-fetch.js';
import type { FetchFunction } from '../tls/https-fetch.js';
import { writeTlsBundle } from '../tls/tls-bundle.js';
import type { TlsBundle } from '../tls/tls-bundle.js';
import { hostsFor } from '../tls/certificates.js';

interface WsSocket {
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'open', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  send(data: string): void;
  close(): void;
}
type WsOptions = { ca?: Buffer; cert?: Buffer; key?: Buffer };
const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string, options?: WsOptions) => WsSocket };

interface Surface {
  readonly node: ClusterNode;
  readonly port: number;
  readonly fetch: FetchFunction;
  readonly tlsFiles?: TlsBundle;
}

/** The clients of every protocol, against `surface`'s one port. */
function everyClientOnOnePort(name: string, surface: () => Surface): void {
  test(`${name}: etcdctl 3.4 puts and gets through the port's URL; --cluster commands follow the advertised URLs`, async () => {
    const { node, tlsFiles } = surface();
    const tls = tlsFiles ? [`--cacert=${tlsFiles.caFile}`, `--cert=${tlsFiles.clientCertFile}`, `--key=${tlsFiles.clientKeyFile}`] : [];
    const put = await etcdctl(node.url, [...tls, 'put', 'one-port/etcdctl', 'yes']);
    assert.equal(put.code, 0, put.stderr);
    const get = await etcdctl(node.url, [...tls, 'get', 'one-port/etcdctl', '--print-value-only']);
    assert.equal(get.stdout.trim(), 'yes', get.stderr);
    const members = await etcdctl(node.url, [...tls, 'member', 'list']);
    assert.equal(members.code, 0, members.stderr);
    const port = String(surface().port);
    // The advertised client URL is the one port's, whole (cluster-service.ts): https:// over TLS, http:// in plain text,
    // which etcd 3.4 dials with the URL as its :authority (http2-handover.ts).
    const advertised = node.url;
    assert.ok(advertised.endsWith(`:${port}`), advertised);
    assert.ok(
      members.stdout
        .split(', ')
        .map((f) => f.trim())
        .includes(advertised),
      members.stdout,
    );
    for (const command of [
      ['endpoint', 'status'],
      ['endpoint', 'status', '--cluster'],
      ['endpoint', 'hashkv', '--cluster'],
      ['endpoint', 'health', '--cluster'],
    ]) {
      const result = await etcdctl(node.url, [...tls, ...command]);
      assert.equal(result.code, 0, `${command.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout + result.stderr, new RegExp(`${advertised.replace(/[.:/]/g, '\\$&')}`), command.join(' '));
    }
  });

  test(`${name}: the etcd3 npm client and a raw grpc-js client`, async () => {
    const { node, tlsFiles } = surface();
    const client = new Etcd3({
      hosts: node.url,
      dialTimeout: 3_000,
      ...(tlsFiles
        ? {
            credentials: {
              rootCertificate: readFileSync(tlsFiles.caFile),
              certChain: readFileSync(tlsFiles.clientCertFile),
              privateKey: readFileSync(tlsFiles.clientKeyFile),
            },
          }
        : {}),
    });
    try {
      await client.put('one-port/etcd3').value('npm');
      assert.equal(await client.get('one-port/etcd3').string(), 'npm');
    } finally {
      client.close();
    }
    const pkg = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
    const Kv = pkg['KV'] as ServiceClientConstructor;
    const channel: ChannelCredentials = tlsFiles
      ? credentials.createSsl(readFileSync(tlsFiles.caFile), readFileSync(tlsFiles.clientKeyFile), readFileSync(tlsFiles.clientCertFile))
      : credentials.createInsecure();
    const kv = new Kv(`127.0.0.1:${surface().port}`, channel) as unknown as {
      Range(request: object, callback: (error: Error | null, response: { kvs: Array<{ value: Buffer }> }) => void): void;
      close(): void;
    };
    try {
      const response = await new Promise<{ kvs: Array<{ value: Buffer }> }>((resolve, reject) =>
        kv.Range({ key: Buffer.from('one-port/etcd3') }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      assert.equal(response.kvs[0]?.value.toString(), 'npm');
    } finally {
      kv.close();
    }
  });

  test(`${name}: REST, the JSON gateway, /health, /metrics and the dashboard page`, async () => {
    const { node, fetch } = surface();
    const put = await fetch(`${node.url}/kv/one-port%2Frest`, { method: 'PUT', body: 'rest' });
    assert.equal(put.status, 200, await put.text());
    const get = await fetch(`${node.url}/kv/one-port%2Frest`, {});
    assert.equal(((await get.json()) as { value: string }).value, 'rest');
    const range = await fetch(`${node.url}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('one-port/rest').toString('base64') }),
      headers: { 'content-type': 'application/json' },
    });
    const kvs = ((await range.json()) as { kvs: Array<{ value: string }> }).kvs;
    assert.equal(Buffer.from(kvs[0]?.value ?? '', 'base64').toString(), 'rest');
    const health = await fetch(`${node.url}/health`, {});
    assert.equal(health.status, 200);
    const metrics = await fetch(`${node.url}/metrics`, {});
    assert.match(await metrics.text(), /^# HELP /m);
    const page = await fetch(`${node.url}/ui/`, {});
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<script/);
  });

  test(`${name}: a WebSocket watch`, async () => {
    const { node, fetch, tlsFiles } = surface();
    const options: WsOptions = tlsFiles
      ? { ca: readFileSync(tlsFiles.caFile), cert: readFileSync(tlsFiles.clientCertFile), key: readFileSync(tlsFiles.clientKeyFile) }
      : {};
    const socket = new WebSocket(`${node.url.replace(/^http/, 'ws')}/watch/ws`, options);
    const messages: Array<{ type: string; events?: Array<{ kv?: { key: string } }> }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as { type: string }));
    await new Promise<void>((resolve, reject) => {
      socket.on('open', resolve);
      socket.on('error', reject);
    });
    try {
      socket.send(JSON.stringify({ create: { key: 'one-port/ws' } }));
      let written = 0;
      // Writes until the watch (created asynchronously) reports one of the writes.
      await waitFor(
        async () => {
          const put = await fetch(`${node.url}/kv/one-port%2Fws`, { method: 'PUT', body: String(++written) });
          assert.equal(put.status, 200);
          return messages.some((m) => m.events?.some((e) => e.kv?.key === 'one-port/ws'));
        },
        { timeoutMs: 15_000, intervalMs: 100, what: 'an event over the WebSocket', explain: async () => JSON.stringify(messages).slice(-1000) },
      );
    } finally {
      socket.close();
    }
  });
}

/** Resolves when the server closes `socket`, with the milliseconds it took. */
function closedAfterMs(socket: Socket): Promise<number> {
  const start = Date.now();
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - start));
  });
}

describe('plain text', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await Cluster.start({ size: 1 });
  });
  after(async () => {
    await cluster?.destroy();
  });
  everyClientOnOnePort('plain', () => ({ node: cluster.node(1), port: cluster.node(1).clientPort, fetch: (url, init) => fetch(url, init) }));

  test('a connection that sends nothing is closed after the first-bytes timeout; one that speaks is not', async () => {
    const port = cluster.node(1).clientPort;
    const silent = connectTcp({ host: '127.0.0.1', port });
    const closedSilent = closedAfterMs(silent);
    // A keep-alive HTTP/1.1 connection that sent a request stays open past that timeout.
    const talking = connectTcp({ host: '127.0.0.1', port });
    const answered = new Promise<string>((resolve) => talking.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    talking.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.match(await answered, /^HTTP\/1\.1 200/);
    let talkingClosed = false;
    talking.on('close', () => (talkingClosed = true));
    const ms = await closedSilent;
    assert.ok(
      ms >= firstBytesTimeoutMsDefault - 500 && ms < firstBytesTimeoutMsDefault + 5_000,
      `closed after ${ms} ms, want about ${firstBytesTimeoutMsDefault}`,
    );
    assert.equal(talkingClosed, false, 'the HTTP/1.1 connection that spoke was closed with the silent one');
    talking.destroy();
  });

  test('garbage first bytes get a clean close (HTTP 400, then the connection closes)', async () => {
    const socket = connectTcp({ host: '127.0.0.1', port: cluster.node(1).clientPort });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = closedAfterMs(socket);
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    const ms = await closed;
    assert.match(received, /^HTTP\/1\.1 400 /);
    assert.ok(ms < firstBytesTimeoutMsDefault, `closed only after ${ms} ms`);
  });

  test('a half-open connection (the client ends before speaking) is closed', async () => {
    const socket = connectTcp({ host: '127.0.0.1', port: cluster.node(1).clientPort });
    const closed = closedAfterMs(socket);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.end();
    assert.ok((await closed) < firstBytesTimeoutMsDefault);
  });
});

describe('TLS with --client-cert-auth', () => {
  let dir: string;
  let files: TlsBundle;
  let cluster: Cluster;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-one-port-'));
    files = await writeTlsBundle(join(dir, 'tls'), { serverHosts: hostsFor('127.0.0.1'), clientCommonName: 'root' });
    cluster = await Cluster.start({ size: 1, tls: { files, clientCertAuth: true } });
  });
  after(async () => {
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  everyClientOnOnePort('tls', () => ({
    node: cluster.node(1),
    port: cluster.node(1).clientPort,
    fetch: fetchWithTls({ ca: readFileSync(files.caFile), cert: readFileSync(files.clientCertFile), key: readFileSync(files.clientKeyFile) }),
    tlsFiles: files,
  }));

  test('ALPN: a client offering h2 and http/1.1 (a browser, curl) gets http/1.1; one offering only h2 gets h2', async () => {
    const offer = (protocols: string[]): Promise<string | false | null> =>
      new Promise((resolve, reject) => {
        const socket = connectTls(
          {
            host: '127.0.0.1',
            port: cluster.node(1).clientPort,
            ca: readFileSync(files.caFile),
            cert: readFileSync(files.clientCertFile),
            key: readFileSync(files.clientKeyFile),
            ALPNProtocols: protocols,
          },
          () => {
            resolve(socket.alpnProtocol);
            socket.destroy();
          },
        );
        socket.on('error', reject);
      });
    assert.equal(await offer(['h2', 'http/1.1']), 'http/1.1');
    assert.equal(await offer(['h2']), 'h2');
  });

  test('a client without a certificate is refused at the handshake, for either protocol', async () => {
    for (const protocols of [['h2'], ['http/1.1']]) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connectTls({ host: '127.0.0.1', port: cluster.node(1).clientPort, ca: readFileSync(files.caFile), ALPNProtocols: protocols });
        socket.on('error', () => resolve(true));
        // TLS 1.3: the refusal arrives after the client's side of the handshake is done.
        socket.on('secureConnect', () => socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.on('data', () => resolve(false));
        socket.on('close', () => resolve(true));
      });
      assert.equal(refused, true, `served a client without a certificate over ${protocols.join()}`);
    }
  });

  test('a connection that never starts the handshake is closed after the first-bytes timeout', async () => {
    const silent = connectTcp({ host: '127.0.0.1', port: cluster.node(1).clientPort });
    const ms = await closedAfterMs(silent);
    assert.ok(
      ms >= firstBytesTimeoutMsDefault - 500 && ms < firstBytesTimeoutMsDefault + 5_000,
      `closed after ${ms} ms, want about ${firstBytesTimeoutMsDefault}`,
    );
  });
});
