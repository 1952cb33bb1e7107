/**
 * The peer port of real `keel start` processes against forged peers (127.0.0.1 only):
 *
 *   - a process without the cluster secret, or with a certificate of another CA (or
 *     another common name) under mutual TLS, is refused at the handshake, and the
 *     node serves on;
 *   - a process that holds the secret but sends messages no correct member sends (a
 *     heartbeat past the log's end, an append that rewrites committed entries, a
 *     snapshot the store cannot restore) loses its connection, and the node serves on
 *     with the same key space as the others;
 *   - a cluster authenticated by mutual TLS alone elects, replicates, and takes new
 *     certificates from disk without a restart; one with the secret and auto TLS
 *     works too;
 *   - a node with no way to authenticate its peers refuses to start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { mainScript, withCluster } from '../harness/cluster-harness.js';
import { freePorts } from '../harness/free-ports.js';
import type { Cluster, ClusterNode } from '../harness/cluster-harness.js';
import { http, describe as describeAnswer } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';
import { encodeFrame, FrameDecoder } from '../transport/framing.js';
import { decodeChallenge, decodeHelloReply, encodeHello, makeHello } from '../transport/handshake.js';
import type { HelloReply } from '../transport/handshake.js';
import { encodeMessage } from '../transport/message-codec.js';
import { newNonce } from '../transport/peer-proof.js';
import { channelBindingOf } from '../transport/peer-tls.js';
import { parseClusterSecret } from '../server/peer-secret.js';
import type { Message } from '../raft/types.js';
import { createCertificateAuthority, issueCertificate } from '../tls/certificates.js';
import type { CertificateAuthority } from '../tls/certificates.js';

const clusterId = `e2e-${process.pid}`;

/** A process speaking the peer protocol to `node`, claiming to be member `from`. */
interface ForgedPeer {
  readonly reply: HelloReply | undefined;
  readonly socket: Socket;
  /** The node closed the connection (or it failed). */
  closed(): boolean;
  send(message: Message): void;
}

async function forgePeer(node: ClusterNode, from: number, secret: Uint8Array | undefined, tls?: ConnectionOptions): Promise<ForgedPeer> {
  const socket: Socket =
    tls === undefined ? netConnect({ host: node.host, port: node.peerPort }) : tlsConnect({ host: node.host, port: node.peerPort, ...tls });
  let closed = false;
  socket.on('error', () => {
    closed = true;
  });
  socket.on('close', () => {
    closed = true;
  });
  const frames: Uint8Array[] = [];
  const decoder = new FrameDecoder({ frameBytesMax: 4096 });
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (frame) => frames.push(frame)));
  await waitFor(async () => frames.length > 0 || closed, { timeoutMs: 10_000, what: `node ${node.id}'s challenge, or the connection closed` });
  let reply: HelloReply | undefined;
  if (!closed) {
    // Over TLS, the proofs cover the session's exported keying material (peer-tls.ts).
    const channelBinding = tls === undefined ? new Uint8Array(0) : channelBindingOf(socket as TLSSocket);
    const hello = makeHello(
      { clusterId, from, to: node.id, nonce: newNonce() },
      { acceptorNonce: decodeChallenge(frames.shift() as Uint8Array), channelBinding },
      secret,
    );
    socket.write(encodeFrame(encodeHello(hello)));
    await waitFor(async () => frames.length > 0 || closed, { timeoutMs: 10_000, what: `node ${node.id}'s answer to the hello` });
    const [answer] = frames;
    reply = answer === undefined ? undefined : decodeHelloReply(answer);
  }
  return { reply, socket, closed: () => closed, send: (message) => socket.write(encodeFrame(encodeMessage(message))) };
}

/** One line of `node`'s log matches every pattern (JSON lines: fields in any order). */
function hasLine(node: ClusterNode, patterns: readonly RegExp[]): boolean {
  return node
    .logSinceStart()
    .split('\n')
    .some((line) => patterns.every((pattern) => pattern.test(line)));
}

async function logged(node: ClusterNode, patterns: readonly RegExp[], what: string): Promise<void> {
  await waitFor(async () => hasLine(node, patterns), { timeoutMs: 10_000, what: `node ${node.id} to log ${what}` });
}

const remote = /"remote":"127\.0\.0\.1:\d+"/;

/**
 * Forges a connection as `from` holding the secret and sends `message` on it, until the
 * node reads it. The forged connection replaces the real member's, and that member's
 * redial a few milliseconds later replaces the forged one in turn: when it wins, the node
 * closes the forged connection without reading the message, which then is sent again on
 * a new one (at most five times).
 */
async function sendForged(node: ClusterNode, from: number, secret: Uint8Array, message: Message, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const forged = await forgePeer(node, from, secret);
    assert.ok(forged.reply?.ok, `welcomed: ${JSON.stringify(forged.reply)}`);
    forged.send(message);
    await waitFor(async () => forged.closed(), { timeoutMs: 10_000, what: `the connection of the forged ${what} to close` });
    const replaced = hasLine(node, [/replaced by a newer connection/, new RegExp(`"remote":"127\\.0\\.0\\.1:${forged.socket.localPort}"`)]);
    if (!replaced || attempt === 5) return;
  }
}

/** A write through `id`, and a linearizable read of it through every running node. */
async function writeAndReadEverywhere(cluster: Cluster, id: number, key: string): Promise<void> {
  const put = await http(`${cluster.url(id)}/kv/${key}`, { method: 'PUT', body: key });
  assert.equal(put.status, 200, `PUT through node ${id}: ${describeAnswer(put)}`);
  for (const other of cluster.runningIds()) {
    const got = await http(`${cluster.url(other)}/kv/${key}`);
    assert.equal(got.status, 200, `GET through node ${other}: ${describeAnswer(got)}`);
  }
}

async function hashesAgree(cluster: Cluster): Promise<void> {
  const { revision } = await cluster.waitForConverged();
  const hashes = await Promise.all(
    cluster.runningIds().map(async (id) => ((await http(`${cluster.url(id)}/admin/hash?revision=${revision}`)).body as { hash: number }).hash),
  );
  assert.equal(new Set(hashes).size, 1, `every node has the same key space at revision ${revision}: ${hashes.join(', ')}`);
}

test('peers without the secret are refused at the handshake; a member sending impossible messages loses its connection; the node serves on', {
  timeout: 180_000,
}, async () => {
  await withCluster({}, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const victim = cluster.node(cluster.runningIds().find((id) => id !== leader.id) as number);
    // (a) Claiming to be the leader, without the secret: refused before any message is read.
    const wrongSecret = new Uint8Array(32).fill(7);
    const stranger = await forgePeer(victim, leader.id, wrongSecret);
    assert.ok(
      stranger.reply !== undefined && !stranger.reply.ok && /failed to prove it holds the cluster secret/.test(stranger.reply.reason),
      JSON.stringify(stranger.reply),
    );
    stranger.send({ type: 'heartbeat', from: leader.id, to: victim.id, term: leader.term, commit: 1_000_000, seq: 1 });
    await waitFor(async () => stranger.closed(), { timeoutMs: 10_000, what: 'the refused connection to close' });
    await logged(
      victim,
      [/"msg":"refused peer connection"/, remote, new RegExp(`"from":${leader.id}\\b`), /failed to prove/],
      'the refusal with the address and claimed id',
    );
    const bare = await forgePeer(victim, leader.id, undefined);
    assert.ok(bare.reply !== undefined && !bare.reply.ok && /sent no proof/.test(bare.reply.reason));
    await writeAndReadEverywhere(cluster, victim.id, 'after-strangers');

    // (b) Holding the secret, speaking as the leader, sending what no leader sends.
    const secret = parseClusterSecret(await readFile(cluster.peerSecretFile, 'utf8'), cluster.peerSecretFile);
    const before = await cluster.status(victim.id);
    await sendForged(
      victim,
      leader.id,
      secret,
      { type: 'heartbeat', from: leader.id, to: victim.id, term: before.term, commit: before.lastIndex + 1000, seq: 1 },
      'heartbeat',
    );
    await logged(
      victim,
      [
        /"msg":"closing connection from peer"/,
        new RegExp(`"peer":${leader.id}\\b`),
        remote,
        new RegExp(`impossible heartbeat from node ${leader.id}: a heartbeat commits up to index ${before.lastIndex + 1000}`),
      ],
      'the dropped heartbeat',
    );
    // An append rewriting committed entry 1 with a newer term (and a newer message term,
    // which the node must not adopt either).
    const forgedTerm = before.term + 5;
    const forged = new TextEncoder().encode('{"type":"put","key":"forged","value":"forged"}');
    await sendForged(
      victim,
      leader.id,
      secret,
      {
        type: 'append',
        from: leader.id,
        to: victim.id,
        term: forgedTerm,
        prevIndex: 0,
        prevTerm: 0,
        commit: 1,
        entries: [{ index: 1, term: forgedTerm, kind: 'normal', data: forged }],
      },
      'append',
    );
    await logged(
      victim,
      [/"msg":"closing connection from peer"/, remote, /impossible append from node \d+: an append overwrites committed entry 1/],
      'the dropped append',
    );
    // A snapshot from a "new leader" whose data the store could not restore.
    const voters = cluster.runningIds();
    await sendForged(
      victim,
      leader.id,
      secret,
      {
        type: 'snapshot',
        from: leader.id,
        to: victim.id,
        term: forgedTerm,
        meta: { index: before.lastIndex + 100, term: forgedTerm, config: { voters, learners: [] } },
        offset: 0,
        data: new TextEncoder().encode('not a snapshot'),
        done: true,
      },
      'snapshot',
    );
    await logged(
      victim,
      [/"msg":"closing connection from peer"/, remote, /impossible snapshot from node \d+: a snapshot at index \d+ that this node could not install/],
      'the dropped snapshot',
    );
    assert.ok(!/fatal/.test(victim.logSinceStart()), 'nothing fatal');
    const after = await cluster.status(victim.id);
    assert.ok(after.term < forgedTerm, `the forged term was not adopted (term ${after.term})`);
    // The node serves on, and its key space is the others'.
    await writeAndReadEverywhere(cluster, victim.id, 'after-liars');
    await hashesAgree(cluster);
  });
});

async function peerFiles(dir: string, ca: CertificateAuthority, name: string, commonName = 'keel-peer'): Promise<{ cert: string; key: string }> {
  const pair = await issueCertificate(ca, { commonName, hosts: ['127.0.0.1'], usage: 'peer' });
  const paths = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await writeFile(paths.cert, pair.cert);
  await writeFile(paths.key, pair.key, { mode: 0o600 });
  return paths;
}

/** The serial number of the certificate `node`'s peer port presents now. */
async function presentedSerial(node: ClusterNode, tls: ConnectionOptions): Promise<string> {
  const socket = tlsConnect({ host: node.host, port: node.peerPort, ...tls });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

test('mutual TLS alone: the cluster elects and replicates; foreign certificates are refused; certificates rotate without a restart', {
  timeout: 180_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-e2e-peer-tls-'));
  try {
    const ca = await createCertificateAuthority('keel e2e peer CA');
    const caFile = join(dir, 'ca.crt');
    await writeFile(caFile, ca.cert);
    const files = await peerFiles(dir, ca, 'peer');
    const env = {
      KEEL_PEER_CERT_FILE: files.cert,
      KEEL_PEER_KEY_FILE: files.key,
      KEEL_PEER_TRUSTED_CA_FILE: caFile,
      KEEL_PEER_CLIENT_CERT_AUTH: 'true',
      KEEL_PEER_CERT_ALLOWED_CN: 'keel-peer',
    };
    await withCluster({ env, peerSecret: false }, async (cluster) => {
      const leader = await cluster.waitForLeader();
      await writeAndReadEverywhere(cluster, leader.id, 'over-mtls');
      const victim = cluster.node(cluster.runningIds().find((id) => id !== leader.id) as number);
      assert.ok(hasLine(victim, [/"msg":"peer transport listening"/, /"tls":"verified"/, /"secret":false/]), 'mutual TLS, no secret');

      // Another CA's certificate: refused during TLS, before a single frame.
      const other = await createCertificateAuthority('another CA');
      const foreign = await issueCertificate(other, { commonName: 'keel-peer', hosts: ['127.0.0.1'], usage: 'peer' });
      const foreigner = await forgePeer(victim, leader.id, undefined, { ca: ca.cert, cert: foreign.cert, key: foreign.key });
      assert.equal(foreigner.reply, undefined, 'no handshake reply');
      await logged(victim, [/"msg":"refused peer connection"/, remote, /the peer's certificate is not trusted/], 'the foreign certificate refused');
      // Our CA, but a name that is not allowed.
      const intruderCert = await issueCertificate(ca, { commonName: 'intruder', hosts: ['127.0.0.1'], usage: 'peer' });
      const intruder = await forgePeer(victim, leader.id, undefined, { ca: ca.cert, cert: intruderCert.cert, key: intruderCert.key });
      assert.equal(intruder.reply, undefined);
      await logged(
        victim,
        [/"msg":"refused peer connection"/, remote, /common name \\"intruder\\", but only \\"keel-peer\\" is allowed/],
        'the wrong name refused',
      );
      await writeAndReadEverywhere(cluster, victim.id, 'after-foreigners');

      // Rotation: new files put in place (written aside, then renamed over the old ones).
      const clientAuth = { ca: ca.cert, cert: await readFile(files.cert, 'utf8'), key: await readFile(files.key, 'utf8') };
      const before = await Promise.all(cluster.runningIds().map((id) => presentedSerial(cluster.node(id), clientAuth)));
      const next = await peerFiles(dir, ca, 'peer-next');
      // Between the two renames the key does not match the certificate: the nodes keep
      // the previous pair until both are in place.
      await rename(next.key, files.key);
      await rename(next.cert, files.cert);
      const after = await Promise.all(cluster.runningIds().map((id) => presentedSerial(cluster.node(id), clientAuth)));
      for (const [i, serial] of after.entries()) assert.notEqual(serial, before[i], `node ${cluster.runningIds()[i]} presents the new certificate`);
      // New peer connections use it: a restarted follower is dialled and dials anew.
      await cluster.restart(victim.id, 'kill');
      await cluster.waitForLeader();
      await writeAndReadEverywhere(cluster, victim.id, 'after-rotation');
      await hashesAgree(cluster);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('secret and auto TLS: the peer traffic is encrypted, the cluster elects and replicates', { timeout: 180_000 }, async () => {
  await withCluster({ env: { KEEL_PEER_AUTO_TLS: 'true' } }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    for (const id of cluster.runningIds()) {
      assert.ok(
        hasLine(cluster.node(id), [/"msg":"peer transport listening"/, /"tls":"unverified \(auto\)"/, /"secret":true/]),
        `node ${id}: auto TLS with the secret`,
      );
    }
    // A plain TCP peer gets no challenge: it must speak TLS first.
    const plain = await forgePeer(cluster.node(leader.id), 2, undefined);
    assert.equal(plain.reply, undefined);
    await writeAndReadEverywhere(cluster, leader.id, 'over-auto-tls');
  });
});

test('a node with neither a cluster secret nor mutual TLS refuses to start and says what to do; keel cluster secret makes one', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-e2e-no-secret-'));
  try {
    const [peerPort, clientPort] = (await freePorts(2)) as [number, number];
    const start = ['start', '--id', '1', '--members', `1=127.0.0.1:${peerPort}:${clientPort}`, '--data-dir', join(dir, 'data')];
    const refused = await runKeel(start);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /no way to tell its peers from strangers/);
    assert.match(refused.stderr, /keel cluster secret --out FILE/);
    const secretFile = join(dir, 'cluster-secret');
    const made = await runKeel(['cluster', 'secret', '--out', secretFile]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await stat(secretFile)).mode & 0o777, 0o600);
    const again = await runKeel(['cluster', 'secret', '--out', secretFile]);
    assert.notEqual(again.code, 0, 'an existing secret is never overwritten');
    assert.match(again.stderr, /never overwritten/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function runKeel(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainScript, ...args],
      { timeout: 30_000, killSignal: 'SIGKILL', env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEEL_'))) },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}
