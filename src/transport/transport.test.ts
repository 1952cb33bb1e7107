/**
 * The transport on real loopback sockets (127.0.0.1 only, OS-chosen ports). Every
 * wait is for a condition, with a deadline; nothing sleeps to synchronize.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { Transport, redialMinAgeMs } from './transport.js';
import type { PeerAddress, TransportOptions } from './transport.js';
import type { Message, NodeId } from '../raft/types.js';
import { exampleMessages, waitFor } from './testing/example-messages.js';
import { encodeFrame } from './framing.js';
import { decodeChallenge, decodeHelloReply, encodeHello, makeHello } from './handshake.js';
import type { Hello } from './handshake.js';
import { FrameDecoder } from './framing.js';
import { newNonce } from './peer-proof.js';
import { randomBytes } from 'node:crypto';
import { encodeMessage } from './message-codec.js';

const host = '127.0.0.1';
/** The cluster secret every test node holds unless a test says otherwise. */
const secret = new Uint8Array(randomBytes(32));

interface Node {
  readonly transport: Transport;
  readonly inbox: Message[];
  readonly logs: { level: string; msg: string; fields: Record<string, unknown> }[];
  /** Log lines whose message or fields mention `pattern`. */
  logged(pattern: RegExp): boolean;
}

type NodeOptions = Partial<Omit<TransportOptions, 'onMessage' | 'log'>> & { nodeId: NodeId };

/** Starts a transport that records what it receives and logs; closed after the test. */
async function startNode(t: TestContext, options: NodeOptions): Promise<Node> {
  const inbox: Message[] = [];
  const logs: Node['logs'] = [];
  const transport = await Transport.start({
    clusterId: 'test-cluster',
    listen: { host, port: 0 },
    peers: new Map(),
    reconnectBackoffMaxMs: 200,
    secret,
    ...options,
    onMessage: (message) => {
      inbox.push(message);
    },
    log: (level, msg, fields) => logs.push({ level, msg, fields: { ...(fields ?? {}) } }),
  });
  t.after(() => transport.close());
  return {
    transport,
    inbox,
    logs,
    logged: (pattern) => logs.some((line) => pattern.test(`${line.msg} ${JSON.stringify(line.fields)}`)),
  };
}

/** Starts `ids` and tells each about all the others. */
async function startCluster(t: TestContext, ids: NodeId[], options: Partial<NodeOptions> = {}): Promise<Map<NodeId, Node>> {
  const nodes = new Map<NodeId, Node>();
  for (const id of ids) nodes.set(id, await startNode(t, { ...options, nodeId: id }));
  const addresses = new Map<NodeId, PeerAddress>([...nodes].map(([id, node]) => [id, node.transport.address]));
  for (const node of nodes.values()) node.transport.updatePeers(addresses);
  return nodes;
}

function get<K, V>(map: Map<K, V>, key: K): V {
  const value = map.get(key);
  assert.ok(value !== undefined, `missing ${String(key)}`);
  return value;
}

const heartbeat = (from: NodeId, to: NodeId, seq: number): Message => ({ type: 'heartbeat', from, to, term: 1, commit: 0, seq });
const seqs = (inbox: Message[]): number[] => inbox.map((m) => (m.type === 'heartbeat' ? m.seq : -1));
const connected = (node: Node, peer: NodeId): boolean => node.transport.stats().peers.find((p) => p.id === peer)?.connected === true;

/** A port with nothing listening on it (bound once by the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('transport: three nodes exchange every message type, intact and in order', async (t) => {
  const nodes = await startCluster(t, [1, 2, 3]);
  for (const [from, node] of nodes) {
    for (const to of nodes.keys()) {
      if (to !== from) for (const message of exampleMessages(from, to)) node.transport.send(message);
    }
  }
  for (const node of nodes.values()) await waitFor(() => node.inbox.length === 28, 'every node receives 2 x 14 messages');
  for (const [id, node] of nodes) {
    for (const from of nodes.keys()) {
      if (from === id) continue;
      assert.deepEqual(
        node.inbox.filter((m) => m.from === from),
        exampleMessages(from, id),
      );
    }
    const stats = node.transport.stats();
    assert.equal(stats.sent, 28);
    assert.equal(stats.received, 28);
    assert.equal(stats.dropped, 0);
    assert.deepEqual(
      stats.peers.map((p) => [p.id, p.connected, p.queued]),
      [...nodes.keys()].filter((p) => p !== id).map((p) => [p, true, 0]),
    );
  }
});

test('transport: a node of another cluster is refused, and both sides log why', async (t) => {
  const a = await startNode(t, { nodeId: 1, clusterId: 'cluster-a' });
  const b = await startNode(t, { nodeId: 2, clusterId: 'cluster-b' });
  a.transport.updatePeers(new Map([[2, b.transport.address]]));
  b.transport.updatePeers(new Map([[1, a.transport.address]]));
  a.transport.send(heartbeat(1, 2, 1));
  b.transport.send(heartbeat(2, 1, 1));
  await waitFor(
    () => a.logged(/refused peer connection.*cluster id mismatch/) && b.logged(/refused peer connection.*cluster id mismatch/),
    'both refuse the other',
  );
  await waitFor(() => a.logged(/connection to peer failed.*refused by the peer: cluster id mismatch/), 'the connecting side hears why');
  assert.equal(a.inbox.length + b.inbox.length, 0);
  assert.ok(!connected(a, 2) && !connected(b, 1));
  assert.equal(a.transport.stats().sent + b.transport.stats().sent, 0);
});

test('transport: a node that is not a known peer, or that claims our own id, is refused', async (t) => {
  const a = await startNode(t, { nodeId: 1 });
  const stranger = await startNode(t, { nodeId: 9 });
  const impostor = await startNode(t, { nodeId: 1 });
  stranger.transport.updatePeers(new Map([[1, a.transport.address]]));
  impostor.transport.updatePeers(new Map([[2, a.transport.address]]));
  stranger.transport.send(heartbeat(9, 1, 1));
  impostor.transport.send(heartbeat(1, 2, 1));
  await waitFor(() => a.logged(/node 9 is not a known peer/), 'the stranger is refused');
  await waitFor(() => a.logged(/the peer wants node 2, but this is node 1/), 'the misaddressed impostor is refused');
  await waitFor(() => impostor.logged(/refused by the peer/), 'the impostor hears why');
  assert.equal(a.inbox.length, 0);
  // Handshake-level check of a hello claiming the acceptor's own id.
  a.transport.updatePeers(new Map([[9, stranger.transport.address]]));
  const reply = await rawHello(a.transport.address, { clusterId: 'test-cluster', from: 1, to: 1 }, secret);
  assert.ok(!reply.ok && /own id 1/.test(reply.reason));
});

test('transport: a node with another cluster secret is refused both ways, and delivers nothing', async (t) => {
  const a = await startNode(t, { nodeId: 1 });
  const b = await startNode(t, { nodeId: 2, secret: new Uint8Array(randomBytes(32)) });
  a.transport.updatePeers(new Map([[2, b.transport.address]]));
  b.transport.updatePeers(new Map([[1, a.transport.address]]));
  a.transport.send(heartbeat(1, 2, 1));
  b.transport.send(heartbeat(2, 1, 1));
  await waitFor(
    () => a.logged(/refused peer connection.*"from":2.*failed to prove it holds the cluster secret/),
    'node 1 refuses node 2, naming who it claimed to be',
  );
  await waitFor(() => b.logged(/refused peer connection.*"from":1.*failed to prove/), 'node 2 refuses node 1');
  assert.equal(a.inbox.length + b.inbox.length, 0);
  assert.ok(!connected(a, 2) && !connected(b, 1));
});

test('transport: without the secret a process cannot deliver one message, and a recorded handshake replayed later fails', async (t) => {
  const nodes = await startCluster(t, [1, 2]);
  const a = get(nodes, 1);
  // No proof at all, with a message right behind the hello: refused, the message never read.
  const bare = await rawHandshake(a.transport.address, { clusterId: 'test-cluster', from: 2, to: 1 }, undefined);
  bare.socket.write(encodeFrame(encodeMessage(heartbeat(2, 1, 99))));
  await waitFor(() => a.logged(/refused peer connection.*sent no proof of the cluster secret/), 'the bare hello is refused');
  await waitFor(() => bare.socket.destroyed || bare.socket.readableEnded, 'and its connection closed');
  // A legitimate handshake, recorded, then replayed byte for byte on a new connection.
  const recorded = await rawHandshake(a.transport.address, { clusterId: 'test-cluster', from: 2, to: 1 }, secret);
  await waitFor(() => recorded.frames.length === 1, 'the welcome');
  assert.ok(decodeHelloReply(recorded.frames[0] as Uint8Array).ok);
  recorded.socket.destroy();
  const replay = await rawConnect(a.transport.address);
  replay.write(encodeFrame(encodeHello(recorded.hello)));
  replay.write(encodeFrame(encodeMessage(heartbeat(2, 1, 98))));
  await waitFor(() => a.logged(/refused peer connection.*another secret, or a replayed handshake/), 'the replay is refused');
  await waitFor(() => replay.destroyed || replay.readableEnded, 'and its connection closed');
  assert.ok(!a.inbox.some((m) => m.type === 'heartbeat' && m.seq >= 98), 'no forged message got through');
  replay.destroy();
  get(nodes, 2).transport.send(heartbeat(2, 1, 1));
  await waitFor(() => a.inbox.some((m) => m.type === 'heartbeat' && m.seq === 1), 'the real node 2 still gets through');
});

test('transport: a message the receiver calls impossible closes its connection, logged with the peer; the peer reconnects', async (t) => {
  const logs: string[] = [];
  const inbox: Message[] = [];
  const a = await Transport.start({
    nodeId: 1,
    clusterId: 'test-cluster',
    listen: { host, port: 0 },
    peers: new Map(),
    secret,
    reconnectBackoffMaxMs: 200,
    onMessage: (message) => {
      inbox.push(message);
      return message.type === 'heartbeat' && message.seq === 666 ? 'a forged heartbeat' : undefined;
    },
    log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields)}`),
  });
  t.after(() => a.close());
  const b = await startNode(t, { nodeId: 2, peers: new Map([[1, a.address]]) });
  a.updatePeers(new Map([[2, b.transport.address]]));
  b.transport.send(heartbeat(2, 1, 666));
  b.transport.send(heartbeat(2, 1, 667));
  await waitFor(
    () =>
      logs.some((line) =>
        /closing connection from peer.*"peer":2,"remote":"127\.0\.0\.1:\d+".*impossible heartbeat from node 2: a forged heartbeat/.test(line),
      ),
    'the connection is closed, naming the peer and its address',
  );
  assert.deepEqual(seqs(inbox), [666], 'nothing after the impossible message on that connection is read');
  await waitFor(() => b.logged(/connection to peer failed/), 'the sender sees its connection closed');
  b.transport.send(heartbeat(2, 1, 668));
  await waitFor(() => inbox.length === 2, 'it reconnects and is heard again');
  assert.deepEqual(seqs(inbox), [666, 668]);
});

test('transport: a peer that restarts on the same port is reconnected to; queued messages then flow', async (t) => {
  const nodes = await startCluster(t, [1, 2]);
  const a = get(nodes, 1);
  const b = get(nodes, 2);
  a.transport.send(heartbeat(1, 2, 1));
  await waitFor(() => b.inbox.length === 1, 'first message');
  const port = b.transport.address.port;
  await b.transport.close();
  await waitFor(() => !connected(a, 2), 'node 1 notices node 2 is gone');
  a.transport.send(heartbeat(1, 2, 2));
  a.transport.send(heartbeat(1, 2, 3));
  await waitFor(() => a.logged(/connection to peer failed.*ECONNREFUSED/), 'node 1 retries and is refused while node 2 is down');
  const b2 = await startNode(t, { nodeId: 2, listen: { host, port }, peers: new Map([[1, a.transport.address]]) });
  await waitFor(() => b2.inbox.length === 2, 'the messages queued while node 2 was down arrive');
  assert.deepEqual(seqs(b2.inbox), [2, 3]);
  b2.transport.send(heartbeat(2, 1, 7));
  await waitFor(() => a.inbox.length === 1, 'and the other way round');
  assert.deepEqual(seqs(a.inbox), [7]);
});

/**
 * A TCP forwarder to `target`, standing in for the network path to a peer's address.
 * blackHole() makes the connections made so far swallow every byte both ways without
 * closing, as an address the peer moved away from does; with `holeNew` set, new
 * connections are swallowed too (a stale address dialed), else forwarded.
 */
async function startForwarder(t: TestContext, target: PeerAddress): Promise<{ address: PeerAddress; blackHole(): void; holeNew: boolean }> {
  const pairs = new Set<{ client: Socket; upstream: Socket; holed: boolean }>();
  const forwarder = {
    address: { host, port: 0 },
    blackHole: () =>
      pairs.forEach((pair) => {
        pair.holed = true;
      }),
    holeNew: false,
  };
  const server = createServer((client) => {
    const pair = { client, upstream: connect(target), holed: forwarder.holeNew };
    pairs.add(pair);
    client.on('data', (chunk) => pair.holed || pair.upstream.write(chunk));
    pair.upstream.on('data', (chunk) => pair.holed || client.write(chunk));
    for (const [socket, other] of [
      [client, pair.upstream],
      [pair.upstream, client],
    ] as const) {
      socket.on('error', () => other.destroy());
      socket.on('close', () => other.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  t.after(() => {
    for (const pair of pairs) pair.client.destroy();
    server.close();
  });
  forwarder.address.port = (server.address() as { port: number }).port;
  return forwarder;
}

test('transport: a peer that connects while our dial to it hangs is dialed again at once', async (t) => {
  // The handshake timeout would end the hanging dial only after a minute.
  const a = await startNode(t, { nodeId: 1, handshakeTimeoutMs: 60_000 });
  const b = await startNode(t, { nodeId: 2 });
  const toB = await startForwarder(t, b.transport.address);
  toB.holeNew = true;
  a.transport.updatePeers(new Map([[2, toB.address]]));
  a.transport.send(heartbeat(1, 2, 1));
  const dialedAt = performance.now();
  await waitFor(() => performance.now() - dialedAt > redialMinAgeMs, `node 1 dialing for ${redialMinAgeMs} ms`);
  assert.ok(!connected(a, 2) && b.inbox.length === 0, 'the dial hangs');
  // Node 2 comes up where its name now leads, and connects to node 1.
  toB.holeNew = false;
  b.transport.updatePeers(new Map([[1, a.transport.address]]));
  await waitFor(() => b.inbox.length === 1, 'node 1 dials node 2 again and delivers what it queued');
  assert.ok(a.logged(/peer connected to us anew; redialing it.*"state":"connecting"/));
});

test('transport: a peer that connects anew is redialed, so a connection to where it no longer is does not keep its messages', async (t) => {
  const a = await startNode(t, { nodeId: 1 });
  const b = await startNode(t, { nodeId: 2 });
  const toB = await startForwarder(t, b.transport.address);
  const toA = await startForwarder(t, a.transport.address);
  a.transport.updatePeers(new Map([[2, toB.address]]));
  b.transport.updatePeers(new Map([[1, a.transport.address]]));
  a.transport.send(heartbeat(1, 2, 1));
  await waitFor(() => b.inbox.length === 1 && connected(b, 1), 'both connected');
  const connectedAt = performance.now();
  // Node 1's connection goes silent, as when node 2's address moves: no reset, no close.
  toB.blackHole();
  a.transport.send(heartbeat(1, 2, 2));
  // The redial is for connections older than redialMinAgeMs: let node 1's reach that age.
  await waitFor(() => performance.now() - connectedAt > redialMinAgeMs, `node 1's connection ${redialMinAgeMs} ms old`);
  assert.ok(connected(a, 2), 'node 1 sees nothing wrong with its connection');
  // Node 2 reaches node 1 from somewhere new, on a new connection.
  b.transport.updatePeers(new Map([[1, toA.address]]));
  await waitFor(() => a.logged(/peer connected to us anew; redialing it/), 'node 1 redials node 2');
  a.transport.send(heartbeat(1, 2, 3));
  await waitFor(() => b.inbox.length === 2, 'what node 1 sends next reaches node 2');
  // Message 2 went into the dead connection, lost as on any broken one (Raft resends).
  assert.deepEqual(seqs(b.inbox), [1, 3]);
  assert.ok(!b.logged(/redialing it/), "node 1's redial does not make node 2 redial in turn");
});

test('transport: a frame over the limit closes the connection with a logged reason; the sender survives and reconnects', async (t) => {
  const a = await startNode(t, { nodeId: 1 });
  const b = await startNode(t, { nodeId: 2, frameBytesMax: 1024 });
  a.transport.updatePeers(new Map([[2, b.transport.address]]));
  b.transport.updatePeers(new Map([[1, a.transport.address]]));
  a.transport.send(heartbeat(1, 2, 1));
  await waitFor(() => b.inbox.length === 1, 'a small message passes');
  a.transport.send({ type: 'propose', from: 1, to: 2, term: 1, data: new Uint8Array(4096) });
  await waitFor(() => b.logged(/closing connection from peer.*exceeds the limit of 1024 bytes \(frameBytesMax\)/), 'node 2 refuses the frame');
  await waitFor(() => a.logged(/connection to peer failed/), 'node 1 sees its connection closed');
  a.transport.send(heartbeat(1, 2, 2));
  await waitFor(() => b.inbox.length === 2, 'node 1 reconnects and messages flow again');
  assert.deepEqual(seqs(b.inbox), [1, 2]);
  // Node 2's own sending was never affected.
  b.transport.send(heartbeat(2, 1, 5));
  await waitFor(() => a.inbox.length === 1, 'node 2 still sends');
  // A sender never sends what exceeds its own limit: dropped, counted and logged.
  b.transport.send({ type: 'propose', from: 2, to: 1, term: 1, data: new Uint8Array(2000) });
  assert.equal(b.transport.stats().dropped, 1);
  assert.ok(b.logged(/dropped a message larger than frameBytesMax/));
});

test('transport: the queue bound holds while a peer is down, dropping the oldest', async (t) => {
  const port = await freePort();
  const a = await startNode(t, { nodeId: 1, peerQueueMessagesMax: 10, peers: new Map([[2, { host, port }]]) });
  for (let seq = 0; seq < 25; seq++) a.transport.send(heartbeat(1, 2, seq));
  assert.deepEqual(a.transport.stats().peers, [{ id: 2, connected: false, queued: 10, sent: 0, dropped: 15 }]);
  assert.equal(a.transport.stats().dropped, 15);
  const b = await startNode(t, { nodeId: 2, listen: { host, port }, peers: new Map([[1, a.transport.address]]) });
  await waitFor(() => b.inbox.length === 10, 'the 10 kept messages arrive once the peer is up');
  assert.deepEqual(seqs(b.inbox), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
});

test('transport: messages sent in one turn leave in one batch, in order', async (t) => {
  const nodes = await startCluster(t, [1, 2], { peerQueueMessagesMax: 8192 });
  const a = get(nodes, 1);
  const b = get(nodes, 2);
  await waitFor(() => connected(a, 2), 'connected');
  const count = 5000;
  for (let seq = 0; seq < count; seq++) a.transport.send(heartbeat(1, 2, seq));
  assert.equal(a.transport.stats().peers[0]?.queued, count, 'nothing is written before the turn ends');
  await waitFor(() => b.inbox.length === count, 'all arrive');
  assert.deepEqual(
    seqs(b.inbox),
    Array.from({ length: count }, (_, i) => i),
  );
});

test('transport: sendAtOnce writes to the socket before the turn ends, with what was queued before it, in order', async (t) => {
  const nodes = await startCluster(t, [1, 2]);
  const a = get(nodes, 1);
  const b = get(nodes, 2);
  await waitFor(() => connected(a, 2), 'connected');
  a.transport.send(heartbeat(1, 2, 1));
  a.transport.sendAtOnce(heartbeat(1, 2, 2));
  // Still in the turn that sent them: nothing queued, both written.
  assert.deepEqual({ ...a.transport.stats().peers[0], connected: undefined }, { id: 2, connected: undefined, queued: 0, sent: 2, dropped: 0 });
  await waitFor(() => b.inbox.length === 2, 'both arrive');
  assert.deepEqual(seqs(b.inbox), [1, 2]);
});

test('transport: updatePeers connects to new peers, follows moved ones, and drops removed ones', async (t) => {
  const a = await startNode(t, { nodeId: 1 });
  const b = await startNode(t, { nodeId: 2 });
  const b2 = await startNode(t, { nodeId: 2 });
  for (const node of [b, b2]) node.transport.updatePeers(new Map([[1, a.transport.address]]));
  a.transport.updatePeers(
    new Map([
      [1, a.transport.address],
      [2, b.transport.address],
    ]),
  );
  assert.deepEqual(
    a.transport.stats().peers.map((p) => p.id),
    [2],
    'our own entry is ignored',
  );
  a.transport.send(heartbeat(1, 2, 1));
  await waitFor(() => b.inbox.length === 1, 'node 2 at its first address');
  a.transport.updatePeers(new Map([[2, b2.transport.address]]));
  a.transport.send(heartbeat(1, 2, 2));
  await waitFor(() => b2.inbox.length === 1, 'node 2 at its new address');
  assert.deepEqual(seqs(b2.inbox), [2]);
  b2.transport.send(heartbeat(2, 1, 3));
  await waitFor(() => a.inbox.length === 1, 'node 2 reaches node 1');
  a.transport.updatePeers(new Map());
  assert.deepEqual(a.transport.stats().peers, []);
  a.transport.send(heartbeat(1, 2, 4));
  assert.equal(a.transport.stats().dropped, 1);
  await waitFor(() => b2.logged(/connection to peer failed/), "node 1 closes node 2's connection in as node 2 is removed");
  await waitFor(() => b2.logged(/refused by the peer: node 2 is not a known peer of node 1/), 'and refuses it from then on');
});

test('transport: bytes that are not a valid handshake or message close the connection; the node carries on', async (t) => {
  const nodes = await startCluster(t, [1, 2]);
  const a = get(nodes, 1);
  const b = get(nodes, 2);
  // Not a Keel peer at all.
  const http = await rawConnect(a.transport.address);
  http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => a.logged(/refused peer connection: not a Keel peer connection/), 'an HTTP request is refused');
  await waitFor(() => http.destroyed || http.readableEnded, 'and its connection closed');
  // A welcomed peer that sends garbage, then one that speaks for another node.
  for (const [payload, reason] of [
    [new Uint8Array([99, 1, 2]), /unknown message type tag 99/],
    [encodeMessage(heartbeat(3, 1, 1)), /a heartbeat from 3 to 1 on the connection of node 2 to node 1/],
  ] as const) {
    const { socket } = await rawHandshake(a.transport.address, { clusterId: 'test-cluster', from: 2, to: 1 }, secret);
    socket.write(encodeFrame(payload));
    await waitFor(() => a.logged(reason), `closed: ${reason.source}`);
    await waitFor(() => socket.destroyed || socket.readableEnded, 'the connection is closed');
    socket.destroy();
  }
  assert.equal(a.inbox.length, 0);
  b.transport.send(heartbeat(2, 1, 1));
  await waitFor(() => a.inbox.length === 1, 'the real node 2 still gets through');
});

test('transport: a connection that never says hello is closed after handshakeTimeoutMs', async (t) => {
  const a = await startNode(t, { nodeId: 1, handshakeTimeoutMs: 100 });
  const socket = await rawConnect(a.transport.address);
  await waitFor(() => a.logged(/closing connection from peer.*no handshake within 100 ms/), 'the silent connection is closed');
  await waitFor(() => socket.destroyed, 'on both ends');
});

test('transport: fault hooks exist only with faultInjection', async (t) => {
  const plain = await startNode(t, { nodeId: 1 });
  assert.equal(plain.transport.faults, undefined);
  const faulty = await startNode(t, { nodeId: 2, faultInjection: true });
  assert.deepEqual(faulty.transport.faults?.get().rules, []);
});

test('transport: isolation blocks both directions; heal restores', async (t) => {
  const nodes = await startCluster(t, [1, 2, 3], { faultInjection: true });
  const a = get(nodes, 1);
  const b = get(nodes, 2);
  const c = get(nodes, 3);
  const faults = a.transport.faults;
  assert.ok(faults);
  faults.set([{ peer: 2, direction: 'both', dropFraction: 1 }]);
  a.transport.send(heartbeat(1, 2, 1));
  b.transport.send(heartbeat(2, 1, 1));
  a.transport.send(heartbeat(1, 3, 1));
  await waitFor(() => faults.get().counters.droppedIn === 1, 'node 1 drops what node 2 sends it');
  assert.equal(faults.get().counters.droppedOut, 1);
  await waitFor(() => c.inbox.length === 1, 'node 3 is not isolated');
  assert.equal(b.inbox.length + a.inbox.length, 0);
  faults.heal();
  a.transport.send(heartbeat(1, 2, 2));
  b.transport.send(heartbeat(2, 1, 2));
  await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 'traffic flows both ways after heal');
  assert.deepEqual([seqs(a.inbox), seqs(b.inbox)], [[2], [2]]);
});

test('transport: a drop fraction is roughly honoured, deterministically for a seed', async (t) => {
  const run = async (): Promise<number[]> => {
    const nodes = await startCluster(t, [1, 2], { faultInjection: true, faultSeed: 42, peerQueueMessagesMax: 4096 });
    const a = get(nodes, 1);
    const b = get(nodes, 2);
    a.transport.faults?.set([{ peer: 2, direction: 'out', dropFraction: 0.25 }]);
    for (let seq = 0; seq < 2000; seq++) a.transport.send(heartbeat(1, 2, seq));
    const dropped = a.transport.faults?.get().counters.droppedOut ?? 0;
    assert.equal(a.transport.stats().dropped, dropped);
    await waitFor(() => b.inbox.length === 2000 - dropped, 'every message not dropped arrives');
    assert.ok(dropped > 400 && dropped < 600, `dropped ${dropped} of 2000 at 0.25`);
    await Promise.all([a.transport.close(), b.transport.close()]);
    return seqs(b.inbox);
  };
  assert.deepEqual(await run(), await run(), 'the same seed drops the same messages');
});

test('transport: a delay holds messages to a peer back; others pass at once', async (t) => {
  const nodes = await startCluster(t, [1, 2, 3], { faultInjection: true });
  const a = get(nodes, 1);
  const b = get(nodes, 2);
  const c = get(nodes, 3);
  await waitFor(() => connected(a, 2) && connected(a, 3), 'connected');
  a.transport.faults?.set([{ peer: 2, direction: 'out', delayMs: 300 }]);
  const start = performance.now();
  let arrivedAt = 0;
  let thirdFirst = false;
  a.transport.send(heartbeat(1, 2, 1));
  a.transport.send(heartbeat(1, 3, 1));
  await waitFor(() => {
    if (c.inbox.length === 1 && b.inbox.length === 0) thirdFirst = true;
    if (b.inbox.length === 1 && arrivedAt === 0) arrivedAt = performance.now();
    return arrivedAt > 0;
  }, 'the delayed message arrives');
  assert.ok(thirdFirst, 'the undelayed message arrived first');
  // A lower bound only (timers never fire early by more than a millisecond of rounding).
  assert.ok(arrivedAt - start >= 295, `delivered after ${arrivedAt - start} ms, expected at least 300`);
  assert.equal(a.transport.faults?.get().counters.delayedOut, 1);
});

test('transport: close ends every connection and timer, frees the port, and later sends are dropped', async (t) => {
  const nodes = await startCluster(t, [1, 2, 3], { faultInjection: true });
  const a = get(nodes, 1);
  await waitFor(() => connected(a, 2) && connected(a, 3), 'connected');
  a.transport.faults?.set([{ peer: 2, direction: 'out', delayMs: 60_000 }]);
  a.transport.send(heartbeat(1, 2, 1)); // held by a 60 s timer that close must clear
  const port = a.transport.address.port;
  await a.transport.close();
  await a.transport.close();
  a.transport.send(heartbeat(1, 3, 1));
  assert.equal(a.transport.stats().dropped, 1);
  assert.deepEqual(a.transport.stats().peers, []);
  await waitFor(() => !connected(get(nodes, 2), 1) && !connected(get(nodes, 3), 1), 'the peers see node 1 gone');
  const again = await startNode(t, { nodeId: 1, listen: { host, port } });
  assert.equal(again.transport.address.port, port);
  // If a timer or socket were left behind, this test file would never exit.
});

async function rawConnect(address: PeerAddress): Promise<Socket> {
  const socket = connect({ host: address.host, port: address.port });
  socket.on('error', () => {});
  socket.resume(); // read (and discard) what arrives, so the end of the stream is seen
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return socket;
}

/** Connects, reads the acceptor's challenge and answers it with a hello (proved with `key`). */
async function rawHandshake(
  address: PeerAddress,
  fields: { clusterId: string; from: number; to: number },
  key: Uint8Array | undefined,
): Promise<{ socket: Socket; hello: Hello; frames: Uint8Array[] }> {
  const socket = await rawConnect(address);
  const decoder = new FrameDecoder({ frameBytesMax: 4096 });
  const frames: Uint8Array[] = [];
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (frame) => frames.push(frame)));
  await waitFor(() => frames.length > 0, 'the challenge');
  const hello = makeHello(
    { ...fields, nonce: newNonce() },
    { acceptorNonce: decodeChallenge(frames.shift() as Uint8Array), channelBinding: new Uint8Array(0) },
    key,
  );
  socket.write(encodeFrame(encodeHello(hello)));
  return { socket, hello, frames };
}

/** The acceptor's reply to a hello, once it has closed the connection. */
async function rawHello(
  address: PeerAddress,
  fields: { clusterId: string; from: number; to: number },
  key: Uint8Array | undefined,
): Promise<ReturnType<typeof decodeHelloReply>> {
  const { socket, frames } = await rawHandshake(address, fields, key);
  await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
  const [reply] = frames;
  assert.ok(reply !== undefined, 'a reply before the close');
  return decodeHelloReply(reply);
}
