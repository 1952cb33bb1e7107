import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildNodeConfig, parseMembers, settingsFromEnv, settingsFromYaml } from './node-config.js';

const examples = join(process.cwd(), 'examples');

test('every example config builds a valid node configuration', () => {
  const dirs = readdirSync(examples);
  assert.deepEqual(dirs.sort(), ['cluster-3', 'cluster-5']);
  for (const dir of dirs) {
    const files = readdirSync(join(examples, dir));
    const size = Number(dir.split('-')[1]);
    assert.equal(files.length, size);
    for (const file of files) {
      const config = buildNodeConfig(settingsFromYaml(join(examples, dir, file)));
      assert.equal(config.members.length, size);
      assert.equal(`node${config.id}.yaml`, file);
    }
  }
});

test('flags override environment variables, which override the YAML file', () => {
  const yaml = settingsFromYaml(join(examples, 'cluster-3', 'node1.yaml'));
  const env = settingsFromEnv({ KEEL_ID: '2', KEEL_TICK_MS: '50' });
  const config = buildNodeConfig(yaml, env, { tickMs: '20' });
  assert.equal(config.id, 2);
  assert.equal(config.tickMs, 20);
  assert.equal(config.dataDir, './data/cluster-3/node1');
});

test('members parse from the flag form, and mistakes are named', () => {
  assert.deepEqual(parseMembers('1=127.0.0.1:7101:7001,2=127.0.0.1:7102:7002'), [
    { id: 1, host: '127.0.0.1', peerPort: 7101, clientPort: 7001 },
    { id: 2, host: '127.0.0.1', peerPort: 7102, clientPort: 7002 },
  ]);
  assert.throws(() => parseMembers('1=127.0.0.1:7101'), /must look like id=host:peerPort:clientPort/);
  assert.throws(() => parseMembers('1=127.0.0.1:70000:7001'), /ports must be integers in 1..65535/);
  assert.throws(() => buildNodeConfig({ id: 4, members: '1=h:1:2', dataDir: 'd' }), /id 4 is not one of the members/);
  assert.throws(() => buildNodeConfig({ id: 1, members: '1=h:1:2,1=h:3:4', dataDir: 'd' }), /every id must be unique/);
  assert.throws(() => buildNodeConfig({ id: 1, members: '1=h:1:2', dataDir: 'd', tickMs: 'fast' }), /tickMs must be an integer/);
  assert.throws(() => buildNodeConfig({ id: 1, members: '1=h:1:2' }), /dataDir must be given/);
});

test('join is off unless asked for, by flag (true), KEEL_JOIN or YAML', () => {
  const base = { id: 4, members: '1=127.0.0.1:7101:7001,4=127.0.0.1:7104:7004', dataDir: '/tmp/x' };
  assert.equal(buildNodeConfig(base).join, false);
  assert.equal(buildNodeConfig(base, { join: true }).join, true);
  assert.equal(buildNodeConfig(base, settingsFromEnv({ KEEL_JOIN: 'true' })).join, true);
});

test("gRPC calls per connection: unlimited by default as etcd's --max-concurrent-streams, from ETCD_ or KEEL_MAX_CONCURRENT_STREAMS, within HTTP/2's 32 bits", () => {
  const yaml = settingsFromYaml(join(examples, 'cluster-3', 'node1.yaml'));
  assert.equal(buildNodeConfig(yaml).maxConcurrentStreams, 2 ** 32 - 1);
  assert.equal(buildNodeConfig(yaml, settingsFromEnv({ ETCD_MAX_CONCURRENT_STREAMS: '100' })).maxConcurrentStreams, 100);
  assert.equal(buildNodeConfig(yaml, settingsFromEnv({ ETCD_MAX_CONCURRENT_STREAMS: '100', KEEL_MAX_CONCURRENT_STREAMS: '7' })).maxConcurrentStreams, 7);
  assert.throws(() => buildNodeConfig(yaml, { maxConcurrentStreams: 2 ** 32 }), /maxConcurrentStreams must be an integer from 1 to 4294967295, got 4294967296/);
});

test("the storage quota defaults to etcd's 2 GiB, comes from KEEL_QUOTA_BACKEND_BYTES or YAML, and must be a positive integer", () => {
  const yaml = settingsFromYaml(join(examples, 'cluster-3', 'node1.yaml'));
  assert.equal(buildNodeConfig(yaml).quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(buildNodeConfig(yaml, settingsFromEnv({ KEEL_QUOTA_BACKEND_BYTES: '1048576' })).quotaBackendBytes, 1048576);
  assert.equal(buildNodeConfig(yaml, { quotaBackendBytes: 4096 }).quotaBackendBytes, 4096);
  assert.throws(() => buildNodeConfig(yaml, { quotaBackendBytes: '0' }), /quotaBackendBytes must be an integer >= 1/);
  assert.throws(() => buildNodeConfig(yaml, { quotaBackendBytes: '2GB' }), /quotaBackendBytes must be an integer >= 1/);
});

test('peer TLS and secret settings come from flags, KEEL_* variables or YAML, and nonsense combinations are refused', () => {
  const base = { id: 1, members: '1=127.0.0.1:1:2', dataDir: 'd' };
  const env = settingsFromEnv({
    KEEL_PEER_SECRET_FILE: '/s',
    KEEL_PEER_CERT_FILE: '/c',
    KEEL_PEER_KEY_FILE: '/k',
    KEEL_PEER_TRUSTED_CA_FILE: '/ca',
    KEEL_PEER_CLIENT_CERT_AUTH: 'true',
    KEEL_PEER_CERT_ALLOWED_CN: 'peer',
  });
  const config = buildNodeConfig(base, env);
  assert.deepEqual(
    [
      config.peerSecretFile,
      config.peerCertFile,
      config.peerKeyFile,
      config.peerTrustedCaFile,
      config.peerClientCertAuth,
      config.peerCertAllowedCn,
      config.peerAutoTls,
    ],
    ['/s', '/c', '/k', '/ca', true, 'peer', false],
  );
  assert.equal(buildNodeConfig(base, { peerAutoTls: true }).peerAutoTls, true);
  assert.throws(() => buildNodeConfig(base, { peerCertFile: '/c' }), /peerCertFile and peerKeyFile go together/);
  assert.throws(() => buildNodeConfig(base, { peerAutoTls: true, peerCertFile: '/c', peerKeyFile: '/k' }), /not both/);
  assert.throws(() => buildNodeConfig(base, { peerTrustedCaFile: '/ca' }), /peerTrustedCaFile needs peerCertFile/);
  assert.throws(
    () => buildNodeConfig(base, { peerCertFile: '/c', peerKeyFile: '/k', peerClientCertAuth: 'true' }),
    /peerClientCertAuth needs peerTrustedCaFile/,
  );
  assert.throws(
    () => buildNodeConfig(base, { peerCertFile: '/c', peerKeyFile: '/k', peerTrustedCaFile: '/ca', peerCertAllowedCn: 'x' }),
    /peerCertAllowedCn needs peerClientCertAuth/,
  );
});
