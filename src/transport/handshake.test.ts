import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  decodeChallenge,
  decodeHello,
  decodeHelloReply,
  encodeChallenge,
  encodeHello,
  encodeHelloReply,
  handshakeFrameBytesMax,
  HandshakeError,
  isValidClusterId,
  makeHello,
  makeWelcome,
  refusalOf,
  replyProblem,
} from './handshake.js';
import type { Channel, Hello } from './handshake.js';
import { newNonce } from './peer-proof.js';

const secret = new Uint8Array(randomBytes(32));
const otherSecret = new Uint8Array(randomBytes(32));

/** Node 2 of prod-east (peers 1 and 3) holding `key`, on `channel`. */
function acceptor(channel: Channel, key: Uint8Array | undefined) {
  return { clusterId: 'prod-east', nodeId: 2, isPeer: (id: number) => id === 1 || id === 3, secret: key, channel };
}

/** A connection: the acceptor's challenge nonce, and a TLS channel binding (empty: plain TCP). */
function newChannel(channelBinding = new Uint8Array(0)): Channel {
  return { acceptorNonce: newNonce(), channelBinding };
}

/** What node 1 answers on `channel`, holding `key`. */
function helloFrom(channel: Channel, key: Uint8Array | undefined, fields: Partial<Hello> = {}): Hello {
  return makeHello({ clusterId: 'prod-east', from: 1, to: 2, nonce: newNonce(), ...fields }, channel, key);
}

test('handshake: challenge, hello and replies round-trip and fit the handshake frame limit', () => {
  const channel = newChannel();
  assert.deepEqual(decodeChallenge(encodeChallenge(channel.acceptorNonce)), channel.acceptorNonce);
  const hello = helloFrom(channel, secret);
  assert.equal(hello.proof.length, 32);
  assert.deepEqual(decodeHello(encodeHello(hello)), hello);
  const welcome = makeWelcome(hello, channel, secret);
  assert.deepEqual(decodeHelloReply(encodeHelloReply(welcome)), welcome);
  const refusal = { ok: false, clusterId: 'prod-east', nodeId: 2, reason: 'no' } as const;
  assert.deepEqual(decodeHelloReply(encodeHelloReply(refusal)), refusal);
  const longest = encodeHelloReply({ ok: false, clusterId: 'é'.repeat(64), nodeId: Number.MAX_SAFE_INTEGER, reason: 'x'.repeat(5000) });
  assert.ok(longest.length <= handshakeFrameBytesMax, `${longest.length} > ${handshakeFrameBytesMax}`);
  const longestHello = encodeHello(
    makeHello({ clusterId: 'é'.repeat(64), from: Number.MAX_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER, nonce: channel.acceptorNonce }, channel, secret),
  );
  assert.ok(longestHello.length <= handshakeFrameBytesMax, `${longestHello.length} > ${handshakeFrameBytesMax}`);
  assert.match((decodeHelloReply(longest) as { reason: string }).reason, /^x+\.\.\.$/);
});

test('handshake: a hello proving the cluster secret for this connection is welcomed, and the welcome proves it back', () => {
  const channel = newChannel();
  const hello = helloFrom(channel, secret);
  assert.equal(refusalOf(hello, acceptor(channel, secret)), undefined);
  const expected = { clusterId: 'prod-east', nodeId: 2, secret, hello, channel };
  assert.equal(replyProblem(makeWelcome(hello, channel, secret), expected), undefined);
});

test('handshake: a wrong secret, no proof, or a proof for another node is refused', () => {
  const channel = newChannel();
  assert.match(refusalOf(helloFrom(channel, otherSecret), acceptor(channel, secret)) ?? '', /failed to prove it holds the cluster secret/);
  assert.match(refusalOf(helloFrom(channel, undefined), acceptor(channel, secret)) ?? '', /sent no proof of the cluster secret/);
  // A proof made for node 3, re-addressed to node 2: the transcript names the receiver.
  const forNode3 = helloFrom(channel, secret, { to: 3 });
  assert.match(refusalOf({ ...forNode3, to: 2 }, acceptor(channel, secret)) ?? '', /failed to prove/);
  // A real member's proof with another sender id: the transcript names the sender.
  assert.match(refusalOf({ ...helloFrom(channel, secret), from: 3 }, acceptor(channel, secret)) ?? '', /failed to prove/);
  // Without a secret (mutual TLS only), a proof means the two sides disagree.
  assert.match(refusalOf(helloFrom(channel, secret), acceptor(channel, undefined)) ?? '', /this node runs without one/);
  assert.equal(refusalOf(helloFrom(channel, undefined), acceptor(channel, undefined)), undefined);
});

test('handshake: a recorded hello replayed on a new connection is refused (a new challenge every time)', () => {
  const first = newChannel();
  const recorded = helloFrom(first, secret);
  assert.equal(refusalOf(recorded, acceptor(first, secret)), undefined);
  const second = newChannel();
  assert.match(refusalOf(recorded, acceptor(second, secret)) ?? '', /failed to prove it holds the cluster secret \(another secret, or a replayed handshake\)/);
});

test('handshake: proofs are bound to the TLS session: a handshake relayed between two sessions fails both ways', () => {
  // A man in the middle terminating TLS on each side: the dialer's session with it
  // and its session with the acceptor export different keying material.
  const nonce = newNonce();
  const dialerSide: Channel = { acceptorNonce: nonce, channelBinding: new Uint8Array(32).fill(1) };
  const acceptorSide: Channel = { acceptorNonce: nonce, channelBinding: new Uint8Array(32).fill(2) };
  const relayed = helloFrom(dialerSide, secret);
  assert.match(refusalOf(relayed, acceptor(acceptorSide, secret)) ?? '', /failed to prove/);
  const welcome = makeWelcome(relayed, acceptorSide, secret);
  assert.match(replyProblem(welcome, { clusterId: 'prod-east', nodeId: 2, secret, hello: relayed, channel: dialerSide }) ?? '', /failed to prove/);
  // On one session, the same handshake passes.
  assert.equal(refusalOf(relayed, acceptor(dialerSide, secret)), undefined);
});

test('handshake: the dialer refuses a welcome that does not prove the secret for its own hello', () => {
  const channel = newChannel();
  const hello = helloFrom(channel, secret);
  const expected = { clusterId: 'prod-east', nodeId: 2, secret, hello, channel };
  assert.match(replyProblem(makeWelcome(hello, channel, otherSecret), expected) ?? '', /failed to prove/);
  assert.match(replyProblem(makeWelcome(hello, channel, undefined), expected) ?? '', /sent no proof/);
  // A welcome recorded on another connection (another hello nonce) is worthless here.
  const earlier = helloFrom(channel, secret);
  assert.match(replyProblem(makeWelcome(earlier, channel, secret), expected) ?? '', /failed to prove/);
  // The acceptor's proof is not the dialer's: a hello proof reflected back fails.
  assert.match(replyProblem({ ok: true, clusterId: 'prod-east', nodeId: 2, proof: hello.proof }, expected) ?? '', /failed to prove/);
});

test('handshake: the acceptor refuses another cluster, a misaddressed hello, its own id and unknown nodes', () => {
  const channel = newChannel();
  assert.match(refusalOf(helloFrom(channel, secret, { clusterId: 'prod-west' }), acceptor(channel, secret)) ?? '', /cluster id mismatch/);
  assert.match(refusalOf(helloFrom(channel, secret, { to: 3 }), acceptor(channel, secret)) ?? '', /wants node 3, but this is node 2/);
  assert.match(refusalOf(helloFrom(channel, secret, { from: 2 }), acceptor(channel, secret)) ?? '', /own id 2/);
  assert.match(refusalOf(helloFrom(channel, secret, { from: 7 }), acceptor(channel, secret)) ?? '', /node 7 is not a known peer/);
  // Without the secret, nobody learns which ids are members.
  assert.match(refusalOf(helloFrom(channel, otherSecret, { from: 7 }), acceptor(channel, secret)) ?? '', /failed to prove/);
});

test('handshake: the connecting side checks the reply names the cluster and node it meant', () => {
  const channel = newChannel();
  const hello = helloFrom(channel, secret);
  const expected = { clusterId: 'prod-east', nodeId: 2, secret, hello, channel };
  const welcome = makeWelcome(hello, channel, secret);
  assert.match(replyProblem({ ok: false, clusterId: 'prod-east', nodeId: 2, reason: 'go away' }, expected) ?? '', /refused by the peer: go away/);
  assert.match(replyProblem({ ...welcome, clusterId: 'other' }, expected) ?? '', /cluster id mismatch/);
  assert.match(replyProblem({ ...welcome, nodeId: 5 }, expected) ?? '', /expected node 2 at this address, found node 5/);
});

test('handshake: garbage, another protocol version, the wrong kind and bad lengths are refused with a named field', () => {
  const fails = (bytes: Uint8Array, field: string): void => {
    assert.throws(
      () => decodeHello(bytes),
      (error: unknown) => error instanceof HandshakeError && error.field === field,
    );
  };
  const channel = newChannel();
  fails(new TextEncoder().encode('GET / HTTP/1.1\r\n'), 'magic');
  const hello = encodeHello(helloFrom(channel, secret)).slice();
  hello[4] = 1;
  fails(hello, 'version');
  fails(encodeHelloReply(makeWelcome(helloFrom(channel, secret), channel, secret)), 'kind');
  fails(encodeHello(helloFrom(channel, secret)).subarray(0, 7), 'clusterId');
  fails(encodeHello({ ...helloFrom(channel, secret), nonce: new Uint8Array(8) }), 'nonce');
  fails(encodeHello({ ...helloFrom(channel, secret), proof: new Uint8Array(31) }), 'proof');
  assert.throws(() => decodeHelloReply(encodeHello(helloFrom(channel, secret))), HandshakeError);
  assert.throws(
    () => decodeChallenge(encodeChallenge(new Uint8Array(4))),
    (error: unknown) => error instanceof HandshakeError && error.field === 'nonce',
  );
});

test('handshake: cluster ids are 1 to 128 UTF-8 bytes', () => {
  assert.ok(isValidClusterId('a'));
  assert.ok(isValidClusterId('a'.repeat(128)));
  assert.ok(!isValidClusterId(''));
  assert.ok(!isValidClusterId('é'.repeat(65)));
});
