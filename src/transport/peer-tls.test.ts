/**
 * The transport over TLS on loopback, with real certificates (src/tls/certificates.ts):
 * mutual TLS without a secret, the refusals (a certificate of another CA, none, a
 * common name not allowed) and certificate rotation without a restart.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import { Transport } from './transport.js';
import type { PeerTlsOptions } from './transport.js';
import type { Message, NodeId } from '../raft/types.js';
import { waitFor } from './testing/example-messages.js';
import { createCertificateAuthority, issueCertificate } from '../tls/certificates.js';
import type { CertificateAuthority } from '../tls/certificates.js';

const host = '127.0.0.1';

interface TlsNode {
  readonly transport: Transport;
  readonly inbox: Message[];
  logged(pattern: RegExp): boolean;
}

async function peerCert(ca: CertificateAuthority, commonName = 'keel-peer'): Promise<SecureContextOptions> {
  const pair = await issueCertificate(ca, { commonName, hosts: [host], usage: 'peer' });
  return { cert: pair.cert, key: pair.key, ca: ca.cert };
}

async function startTlsNode(t: TestContext, nodeId: NodeId, tls: PeerTlsOptions, secret?: Uint8Array): Promise<TlsNode> {
  const inbox: Message[] = [];
  const logs: string[] = [];
  const transport = await Transport.start({
    nodeId,
    clusterId: 'tls-cluster',
    listen: { host, port: 0 },
    peers: new Map(),
    reconnectBackoffMaxMs: 200,
    tls,
    ...(secret !== undefined ? { secret } : {}),
    onMessage: (message) => {
      inbox.push(message);
    },
    log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields)}`),
  });
  t.after(() => transport.close());
  return { transport, inbox, logged: (pattern) => logs.some((line) => pattern.test(line)) };
}

const mutual = (options: SecureContextOptions, allowedCn?: string): PeerTlsOptions => ({
  secureContextOptions: () => options,
  clientCertAuth: true,
  verifyServer: true,
  ...(allowedCn !== undefined ? { allowedCn } : {}),
});

const heartbeat = (from: NodeId, to: NodeId, seq: number): Message => ({ type: 'heartbeat', from, to, term: 1, commit: 0, seq });

function link(a: TlsNode, aId: NodeId, b: TlsNode, bId: NodeId): void {
  a.transport.updatePeers(new Map([[bId, b.transport.address]]));
  b.transport.updatePeers(new Map([[aId, a.transport.address]]));
}

test('peer TLS: mutual TLS alone (no secret) authenticates both ends; messages flow', async (t) => {
  const ca = await createCertificateAuthority('peer CA');
  const a = await startTlsNode(t, 1, mutual(await peerCert(ca), 'keel-peer'));
  const b = await startTlsNode(t, 2, mutual(await peerCert(ca), 'keel-peer'));
  link(a, 1, b, 2);
  a.transport.send(heartbeat(1, 2, 1));
  b.transport.send(heartbeat(2, 1, 2));
  await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 'both directions deliver');
});

test('peer TLS: a certificate from another CA, no certificate, or a common name not allowed is refused before the handshake', async (t) => {
  const ca = await createCertificateAuthority('peer CA');
  const other = await createCertificateAuthority('another CA');
  const a = await startTlsNode(t, 1, mutual(await peerCert(ca), 'keel-peer'));
  // Another CA's certificate (it trusts ours, so only node 1's check stops it).
  const foreign = await peerCert(other);
  const stranger = await startTlsNode(t, 2, mutual({ ...foreign, ca: ca.cert }));
  stranger.transport.updatePeers(new Map([[1, a.transport.address]]));
  a.transport.updatePeers(new Map([[2, stranger.transport.address]]));
  stranger.transport.send(heartbeat(2, 1, 1));
  await waitFor(
    () => a.logged(/refused peer connection.*"remote":"127\.0\.0\.1:\d+".*the peer's certificate is not trusted/),
    'the foreign certificate is refused',
  );
  // Our CA, but a common name that is not allowed.
  const intruder = await startTlsNode(t, 3, mutual(await peerCert(ca, 'intruder')));
  intruder.transport.updatePeers(new Map([[1, a.transport.address]]));
  intruder.transport.send(heartbeat(3, 1, 1));
  await waitFor(() => a.logged(/refused peer connection.*common name \\"intruder\\", but only \\"keel-peer\\" is allowed/), 'the wrong CN is refused');
  // No client certificate at all.
  const bare = tlsConnect({ host, port: a.transport.address.port, ca: ca.cert });
  bare.on('error', () => {});
  await waitFor(
    () => a.logged(/refused peer connection.*(not trusted|TLS: )/) && (bare.destroyed || bare.readableEnded || bare.closed),
    'a client without a certificate is refused',
  );
  bare.destroy();
  assert.equal(a.inbox.length, 0);
});

test('peer TLS: certificates replaced while running are used by new connections, without a restart', async (t) => {
  const ca = await createCertificateAuthority('peer CA');
  let current = await peerCert(ca);
  const rotating: PeerTlsOptions = { secureContextOptions: () => current, clientCertAuth: true, verifyServer: true };
  const a = await startTlsNode(t, 1, rotating);
  const b = await startTlsNode(t, 2, mutual(await peerCert(ca)));
  link(a, 1, b, 2);
  b.transport.send(heartbeat(2, 1, 1));
  await waitFor(() => a.inbox.length === 1, 'connected with the first certificate');
  const presented = async (): Promise<string> => {
    const probe = tlsConnect({ host, port: a.transport.address.port, ca: ca.cert, cert: current.cert, key: current.key });
    probe.on('error', () => {});
    await new Promise<void>((resolve) => probe.once('secureConnect', () => resolve()));
    const serial = probe.getPeerCertificate().serialNumber;
    probe.destroy();
    return serial;
  };
  const before = await presented();
  current = await peerCert(ca);
  const after = await presented();
  assert.notEqual(after, before, 'the listener presents the new certificate');
  // The connection made before the rotation still carries messages.
  b.transport.send(heartbeat(2, 1, 2));
  await waitFor(() => a.inbox.length === 2, 'the old connection still works');
  // Node 1 drops node 2 and takes it back: both reconnect, node 1 with its new
  // certificate on both ends (a message sent before a peer notices its connection
  // is gone may be lost, so keep sending until one arrives each way).
  a.transport.updatePeers(new Map());
  a.transport.updatePeers(new Map([[2, b.transport.address]]));
  let seq = 10;
  await waitFor(() => {
    a.transport.send(heartbeat(1, 2, seq));
    b.transport.send(heartbeat(2, 1, seq));
    seq++;
    return a.inbox.length > 2 && b.inbox.length > 0;
  }, 'new connections in both directions, with the new certificate');
  assert.ok(a.logged(/accepted connection from peer \{"peer":2/) && a.logged(/connected to peer \{"peer":2/));
});

test('peer TLS: with the secret and auto TLS (no certificate checks), a man in the middle relaying the handshake between two TLS sessions is refused', async (t) => {
  const secret = new Uint8Array(randomBytes(32));
  const selfSigned = async (name: string): Promise<SecureContextOptions> => {
    const ca = await createCertificateAuthority(name);
    const pair = await issueCertificate(ca, { commonName: name, hosts: [host], usage: 'peer' });
    return { cert: pair.cert, key: pair.key };
  };
  const auto = (options: SecureContextOptions): PeerTlsOptions => ({ secureContextOptions: () => options, clientCertAuth: false, verifyServer: false });
  const a = await startTlsNode(t, 1, auto(await selfSigned('node 1')), secret);
  const b = await startTlsNode(t, 2, auto(await selfSigned('node 2')), secret);
  link(a, 1, b, 2);
  a.transport.send(heartbeat(1, 2, 1));
  await waitFor(() => b.inbox.length === 1, 'auto TLS with the secret works');
  // The man in the middle: terminates node 1's TLS with its own certificate, opens its
  // own TLS session to node 2, and relays the decrypted bytes both ways.
  const relay = createTlsServer(await selfSigned('mitm'), (inbound) => {
    const outbound = tlsConnect({ host, port: b.transport.address.port, rejectUnauthorized: false });
    for (const socket of [inbound, outbound]) socket.on('error', () => {});
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, host, resolve));
  t.after(() => new Promise<void>((resolve) => relay.close(() => resolve())));
  const relayPort = (relay.address() as { port: number }).port;
  a.transport.updatePeers(new Map([[2, { host, port: relayPort }]]));
  a.transport.send(heartbeat(1, 2, 2));
  await waitFor(() => b.logged(/refused peer connection.*failed to prove it holds the cluster secret/), 'node 2 refuses the relayed hello');
  assert.deepEqual(
    b.inbox.map((m) => (m.type === 'heartbeat' ? m.seq : -1)),
    [1],
    'nothing came through the relay',
  );
});
