import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNodeConfig, settingsFromEnv } from './node-config.js';
import { clientScheme } from '../replica/config.js';
import { bootstrapMembers } from '../replica/member-metadata.js';

const base = { id: 1, members: '1=127.0.0.1:7101:7001:7201,2=127.0.0.1:7102:7002:7202', dataDir: '/tmp/unused' };

test('client TLS settings from KEEL_* variables; https client URLs when TLS is on', () => {
  const config = buildNodeConfig(
    base,
    settingsFromEnv({ KEEL_CERT_FILE: 's.pem', KEEL_KEY_FILE: 's-key.pem', KEEL_TRUSTED_CA_FILE: 'ca.pem', KEEL_CLIENT_CERT_AUTH: 'true' }),
  );
  assert.deepEqual(
    [config.certFile, config.keyFile, config.trustedCaFile, config.clientCertAuth, config.autoTls],
    ['s.pem', 's-key.pem', 'ca.pem', true, false],
  );
  assert.equal(clientScheme(config), 'https');
  assert.deepEqual(
    bootstrapMembers(config).map((m) => [m.clientUrls[0], m.grpcUrls[0]]),
    [
      ['https://127.0.0.1:7001', 'https://127.0.0.1:7201'],
      ['https://127.0.0.1:7002', 'https://127.0.0.1:7202'],
    ],
  );
  const plain = buildNodeConfig(base);
  assert.equal(clientScheme(plain), 'http');
  assert.equal(bootstrapMembers(plain)[0]?.clientUrls[0], 'http://127.0.0.1:7001');
  assert.equal(clientScheme(buildNodeConfig(base, { autoTls: true })), 'https');
});

test("etcd's rules for the client TLS flags, each broken one named", () => {
  assert.throws(() => buildNodeConfig(base, { certFile: 's.pem' }), /certFile and keyFile must be given together/);
  assert.throws(() => buildNodeConfig(base, { keyFile: 'k.pem' }), /certFile and keyFile must be given together/);
  assert.throws(() => buildNodeConfig(base, { certFile: 's.pem', keyFile: 'k.pem', autoTls: true }), /autoTls and certFile exclude each other/);
  assert.throws(() => buildNodeConfig(base, { certFile: 's.pem', keyFile: 'k.pem', clientCertAuth: true }), /clientCertAuth needs trustedCaFile/);
  assert.throws(() => buildNodeConfig(base, { trustedCaFile: 'ca.pem' }), /trustedCaFile needs certFile and keyFile/);
  assert.throws(() => buildNodeConfig(base, { certFile: 7, keyFile: 'k.pem' }), /certFile must be a file path/);
});
