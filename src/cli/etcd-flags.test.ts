import { bootstrapMembers } from '../replica/member-metadata.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { discoverInitialCluster, memberIdOf, settingsFromEtcdFlags } from './etcd-flags.js';
import { buildNodeConfig } from './node-config.js';

const cluster = 'n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380';

test('etcd-style flags become Keel members with ids from peer URL and token', () => {
  const settings = settingsFromEtcdFlags({
    name: 'n2',
    initialCluster: cluster,
    initialClusterToken: 'prod',
    listenClientUrls: 'http://0.0.0.0:2379',
    listenPeerUrls: 'http://0.0.0.0:2380',
    httpPort: '8080',
    initialAdvertisePeerUrls: 'http://10.0.0.2:2380',
  });
  const config = buildNodeConfig({ dataDir: '/tmp/x' }, settings);
  assert.equal(config.id, memberIdOf('http://10.0.0.2:2380', 'prod'));
  assert.equal(config.clusterId, 'prod');
  assert.equal(config.join, false);
  assert.equal(config.listenHost, '0.0.0.0');
  assert.equal(config.peerListenHost, '0.0.0.0');
  // The member list gives etcd's names, as `etcdctl member list` shows them.
  assert.deepEqual(
    bootstrapMembers(config).map((m) => m.name),
    cluster.split(',').map((part) => part.split('=')[0]),
  );
  assert.deepEqual(
    config.members.map((m) => [m.host, m.peerPort, m.clientPort, m.grpcPort]),
    [
      ['10.0.0.1', 2380, 8080, 2379],
      ['10.0.0.2', 2380, 8080, 2379],
      ['10.0.0.3', 2380, 8080, 2379],
    ],
  );
  // Without --http-port, the client URL's port is the one client port.
  const onePort = buildNodeConfig(
    { dataDir: '/tmp/x' },
    settingsFromEtcdFlags({ name: 'n1', initialCluster: cluster, listenClientUrls: 'http://0.0.0.0:2379' }),
  );
  assert.deepEqual(
    onePort.members.map((m) => [m.clientPort, m.grpcPort]),
    [
      [2379, undefined],
      [2379, undefined],
      [2379, undefined],
    ],
  );
  // Order-independent, token-dependent.
  const reordered = settingsFromEtcdFlags({ name: 'n2', initialCluster: cluster.split(',').reverse().join(','), initialClusterToken: 'prod' });
  assert.equal(reordered.id, config.id);
  assert.notEqual(settingsFromEtcdFlags({ name: 'n2', initialCluster: cluster, initialClusterToken: 'other' }).id, config.id);
  assert.equal(settingsFromEtcdFlags({ name: 'n1', initialCluster: cluster, initialClusterState: 'existing' }).join, true);
});

test('bad etcd-style combinations name the flag', () => {
  const bad: Array<[Parameters<typeof settingsFromEtcdFlags>[0], RegExp]> = [
    [{ name: 'n9', initialCluster: cluster }, /--name n9 is not in --initial-cluster/],
    [{ initialCluster: cluster }, /--name must be given/],
    [{ name: 'n1' }, /--initial-cluster/],
    [{ name: 'n1', initialCluster: cluster, initialClusterState: 'joining' }, /--initial-cluster-state must be new or existing/],
    [{ name: 'n1', initialCluster: 'n1=10.0.0.1:2380' }, /--initial-cluster/],
    [{ name: 'n1', initialCluster: 'n1=http://a:2380,n1=http://b:2380' }, /names? must be unique/],
    [{ name: 'n1', initialCluster: cluster, initialAdvertisePeerUrls: 'http://10.0.0.9:2380' }, /--initial-advertise-peer-urls/],
    [{ name: 'n1', initialCluster: cluster, listenPeerUrls: 'http://0.0.0.0:2390' }, /--listen-peer-urls port 2390/],
    [{ name: 'n1', initialCluster: cluster, listenClientUrls: 'http://0.0.0.0:2379,http://0.0.0.0:4001' }, /--listen-client-urls: Keel serves one URL/],
    [{ name: 'n1', initialCluster: cluster, advertiseClientUrls: 'http://10.0.0.1:4001' }, /--advertise-client-urls port 4001/],
    [{ name: 'n1', initialCluster: cluster, httpPort: '2379' }, /--http-port 2379 is the client port already/],
    [{ name: 'n1', initialCluster: cluster, httpPort: '70000' }, /--http-port must be a port/],
  ];
  for (const [flags, message] of bad) assert.throws(() => settingsFromEtcdFlags(flags), message, JSON.stringify(flags));
});

/** A minimal DNS server on loopback answering SRV questions from a table (RFC 1035, RFC 2782). */
async function startSrvServer(records: Record<string, Array<{ port: number; target: string }>>): Promise<{ socket: Socket; address: string }> {
  const socket = createSocket('udp4');
  socket.on('message', (query, from) => {
    let offset = 12;
    const labels: string[] = [];
    while (query[offset] !== 0) {
      const length = query[offset] as number;
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += 1 + length;
    }
    const questionEnd = offset + 5; // zero label, type, class
    const answers = records[labels.join('.').toLowerCase()] ?? [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(answers.length > 0 ? 0x8180 : 0x8183, 2); // response, RD, RA; NXDOMAIN when empty
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts = [header, query.subarray(12, questionEnd)];
    for (const { port, target } of answers) {
      const name = Buffer.concat([...target.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
      const fixed = Buffer.alloc(16);
      fixed.writeUInt16BE(0xc00c, 0); // the question's name
      fixed.writeUInt16BE(33, 2); // SRV
      fixed.writeUInt16BE(1, 4); // IN
      fixed.writeUInt32BE(60, 6); // TTL
      fixed.writeUInt16BE(6 + name.length, 10);
      fixed.writeUInt16BE(0, 12); // priority
      fixed.writeUInt16BE(0, 14); // weight
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16BE(port, 0);
      parts.push(fixed, portBytes, name);
    }
    socket.send(Buffer.concat(parts), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: `127.0.0.1:${socket.address().port}` };
}

test('--discovery-srv finds the members in _etcd-server._tcp and _etcd-server-ssl._tcp records', async () => {
  const { socket, address } = await startSrvServer({
    '_etcd-server._tcp.example.test': [
      { port: 2380, target: 'infra0.example.test' },
      { port: 2380, target: 'infra1.example.test' },
    ],
    '_etcd-server-ssl._tcp.example.test': [{ port: 2390, target: 'infra2.example.test' }],
  });
  try {
    const found = await discoverInitialCluster('example.test', [address]);
    assert.deepEqual(found.split(',').sort(), [
      'infra0.example.test=http://infra0.example.test:2380',
      'infra1.example.test=http://infra1.example.test:2380',
      'infra2.example.test=https://infra2.example.test:2390',
    ]);
    // A node is recognised by its advertised peer URL, as etcd does.
    const settings = settingsFromEtcdFlags({ name: 'infra1', initialCluster: found, initialAdvertisePeerUrls: 'http://infra1.example.test:2380' });
    assert.equal(settings.id, memberIdOf('http://infra1.example.test:2380', 'etcd-cluster'));
    await assert.rejects(
      discoverInitialCluster('nothing.test', [address]),
      /--discovery-srv: no _etcd-server-ssl._tcp or _etcd-server._tcp SRV records for nothing.test/,
    );
  } finally {
    socket.close();
  }
});
