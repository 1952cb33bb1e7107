import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueCertificate, hostsFor } from './certificates.js';

test('a CA-signed server certificate verifies for its hosts, and the server sees the client certificate common name', async () => {
  const ca = await createCertificateAuthority('keel test CA');
  const server = await issueCertificate(ca, { commonName: 'node-1', hosts: hostsFor('127.0.0.1'), usage: 'server' });
  const client = await issueCertificate(ca, { commonName: 'alice', usage: 'client' });
  assert.ok(new X509Certificate(server.cert).verify(new X509Certificate(ca.cert).publicKey));
  assert.ok(new X509Certificate(server.cert).checkIP('127.0.0.1'));
  assert.equal(new X509Certificate(server.cert).checkHost('localhost'), 'localhost');

  const seen: string[] = [];
  const tlsServer = createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (socket: TLSSocket) => {
    seen.push(String(socket.getPeerCertificate().subject.CN));
    socket.end('hello');
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const port = (tlsServer.address() as { port: number }).port;
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: ca.cert, cert: client.cert, key: client.key }, () => undefined);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.equal(answer, 'hello');
    assert.deepEqual(seen, ['alice']);

    // A client certificate from another CA is refused by the handshake.
    const otherCa = await createCertificateAuthority('someone else');
    const stranger = await issueCertificate(otherCa, { commonName: 'mallory', usage: 'client' });
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca: ca.cert, cert: stranger.cert, key: stranger.key });
        socket.on('data', () => resolve());
        socket.on('end', () => reject(new Error('connection closed without data')));
        socket.on('error', reject);
      }),
    );
    assert.deepEqual(seen, ['alice']);
  } finally {
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
  }
});

test('hostsFor names loopback for loopback and wildcard listeners, and only the host otherwise', () => {
  assert.deepEqual(hostsFor('127.0.0.1').sort(), ['127.0.0.1', '::1', 'localhost'].sort());
  assert.deepEqual(hostsFor('0.0.0.0').sort(), ['127.0.0.1', '::1', 'localhost'].sort());
  assert.deepEqual(hostsFor('10.1.2.3'), ['10.1.2.3']);
  assert.deepEqual(hostsFor('db1.example'), ['db1.example']);
});
