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
import type { Hello } from './handshake.js';
import { newNonce } from './peer-proof.js';

const secret = new Uint8Array(randomBytes(32));
const otherSecret = new Uint8Array(randomBytes(32));

/** Node 2 of prod-east (peers 1 and 3) holding `key`, on a connection whose challenge was `nonce`. */
function acceptor(nonce: Uint8Array, key: Uint8Array | undefined) {
  return { clusterId: 'prod-east', nodeId: 2, isPeer: (id: number) => id === 1 || id === 3, secret: key, nonce };
}

/** What node `from` answers to `acceptorNonce`, holding `key`. */
function helloFrom(acceptorNonce: Uint8Array, key: Uint8Array | undefined, fields: Partial<Hello> = {}): Hello {
  return makeHello({ clusterId: 'prod-east', from: 1, to: 2, nonce: newNonce(), ...fields }, acceptorNonce, key);
}

test('handshake: challenge, hello and replies round-trip and fit the handshake frame limit', () => {
  const nonce = newNonce();
  assert.deepEqual(decodeChallenge(encodeChallenge(nonce)), nonce);
  const hello = helloFrom(nonce, secret);
  assert.equal(hello.proof.length, 32);
  assert.deepEqual(decodeHello(encodeHello(hello)), hello);
  const welcome = makeWelcome(hello, nonce, secret);
  assert.deepEqual(decodeHelloReply(encodeHelloReply(welcome)), welcome);
  const refusal = { ok: false, clusterId: 'prod-east', nodeId: 2, reason: 'no' } as const;
  assert.deepEqual(decodeHelloReply(encodeHelloReply(refusal)), refusal);
  const longest = encodeHelloReply({ ok: false, clusterId: 'é'.repeat(64), nodeId: Number.MAX_SAFE_INTEGER, reason: 'x'.repeat(5000) });
  assert.ok(longest.length <= handshakeFrameBytesMax, `${longest.length} > ${handshakeFrameBytesMax}`);
  const longestHello = encodeHello(makeHello({ clusterId: 'é'.repeat(64), from: Number.MAX_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER, nonce }, nonce, secret));
  assert.ok(longestHello.length <= handshakeFrameBytesMax, `${longestHello.length} > ${handshakeFrameBytesMax}`);
  assert.match((decodeHelloReply(longest) as { reason: string }).reason, /^x+\.\.\.$/);
});

test('handshake: a hello proving the cluster secret for this connection is welcomed, and the welcome proves it back', () => {
  const nonce = newNonce();
  const hello = helloFrom(nonce, secret);
  assert.equal(refusalOf(hello, acceptor(nonce, secret)), undefined);
  const expected = { clusterId: 'prod-east', nodeId: 2, secret, hello, acceptorNonce: nonce };
  assert.equal(replyProblem(makeWelcome(hello, nonce, secret), expected), undefined);
});

test('handshake: a wrong secret, no proof, or a proof for another node is refused', () => {
  const nonce = newNonce();
  assert.match(refusalOf(helloFrom(nonce, otherSecret), acceptor(nonce, secret)) ?? '', /failed to prove it holds the cluster secret/);
  assert.match(refusalOf(helloFrom(nonce, undefined), acceptor(nonce, secret)) ?? '', /sent no proof of the cluster secret/);
  // A proof made for node 3, re-addressed to node 2: the transcript names the receiver.
  const forNode3 = helloFrom(nonce, secret, { to: 3 });
  assert.match(refusalOf({ ...forNode3, to: 2 }, acceptor(nonce, secret)) ?? '', /failed to prove/);
  // A real member's proof with another sender id: the transcript names the sender.
  assert.match(refusalOf({ ...helloFrom(nonce, secret), from: 3 }, acceptor(nonce, secret)) ?? '', /failed to prove/);
  // Without a secret (mutual TLS only), a proof means the two sides disagree.
  assert.match(refusalOf(helloFrom(nonce, secret), acceptor(nonce, undefined)) ?? '', /this node runs without one/);
  assert.equal(refusalOf(helloFrom(nonce, undefined), acceptor(nonce, undefined)), undefined);
});

test('handshake: a recorded hello replayed on a new connection is refused (a new challenge every time)', () => {
  const first = newNonce();
  const recorded = helloFrom(first, secret);
  assert.equal(refusalOf(recorded, acceptor(first, secret)), undefined);
  const second = newNonce();
  assert.match(refusalOf(recorded, acceptor(second, secret)) ?? '', /failed to prove it holds the cluster secret \(another secret, or a replayed handshake\)/);
});

test('handshake: the dialer refuses a welcome that does not prove the secret for its own hello', () => {
  const nonce = newNonce();
  const hello = helloFrom(nonce, secret);
  const expected = { clusterId: 'prod-east', nodeId: 2, secret, hello, acceptorNonce: nonce };
  assert.match(replyProblem(makeWelcome(hello, nonce, otherSecret), expected) ?? '', /failed to prove/);
  assert.match(replyProblem(makeWelcome(hello, nonce, undefined), expected) ?? '', /sent no proof/);
  // A welcome recorded on another connection (another hello nonce) is worthless here.
  const earlier = helloFrom(nonce, secret);
  assert.match(replyProblem(makeWelcome(earlier, nonce, secret), expected) ?? '', /failed to prove/);
  // The acceptor's proof is not the dialer's: a hello proof reflected back fails.
  assert.match(replyProblem({ ok: true, clusterId: 'prod-east', nodeId: 2, proof: hello.proof }, expected) ?? '', /failed to prove/);
});

test('handshake: the acceptor refuses another cluster, a misaddressed hello, its own id and unknown nodes', () => {
  const nonce = newNonce();
  assert.match(refusalOf(helloFrom(nonce, secret, { clusterId: 'prod-west' }), acceptor(nonce, secret)) ?? '', /cluster id mismatch/);
  assert.match(refusalOf(helloFrom(nonce, secret, { to: 3 }), acceptor(nonce, secret)) ?? '', /wants node 3, but this is node 2/);
  assert.match(refusalOf(helloFrom(nonce, secret, { from: 2 }), acceptor(nonce, secret)) ?? '', /own id 2/);
  assert.match(refusalOf(helloFrom(nonce, secret, { from: 7 }), acceptor(nonce, secret)) ?? '', /node 7 is not a known peer/);
  // Without the secret, nobody learns which ids are members.
  assert.match(refusalOf(helloFrom(nonce, otherSecret, { from: 7 }), acceptor(nonce, secret)) ?? '', /failed to prove/);
});

test('handshake: the connecting side checks the reply names the cluster and node it meant', () => {
  const nonce = newNonce();
  const hello = helloFrom(nonce, secret);
  const expected = { clusterId: 'prod-east', nodeId: 2, secret, hello, acceptorNonce: nonce };
  const welcome = makeWelcome(hello, nonce, secret);
  assert.match(replyProblem({ ok: false, clusterId: 'prod-east', nodeId: 2, reason: 'go away' }, expected) ?? '', /refused by the peer: go away/);
  assert.match(replyProblem({ ...welcome, clusterId: 'other' }, expected) ?? '', /cluster id mismatch/);
  assert.match(replyProblem({ ...welcome, nodeId: 5 }, expected) ?? '', /expected node 2 at this address, found node 5/);
});

test('handshake: garbage, another protocol version, the wrong kind and bad lengths are refused with a named field', () => {
  const fails = (bytes: Uint8Array, field: string): void => {
    assert.throws(() => decodeHello(bytes), (error: unknown) => error instanceof HandshakeError && error.field === field);
  };
  const nonce = newNonce();
  fails(new TextEncoder().encode('GET / HTTP/1.1\r\n'), 'magic');
  const hello = encodeHello(helloFrom(nonce, secret)).slice();
  hello[4] = 1;
  fails(hello, 'version');
  fails(encodeHelloReply(makeWelcome(helloFrom(nonce, secret), nonce, secret)), 'kind');
  fails(encodeHello(helloFrom(nonce, secret)).subarray(0, 7), 'clusterId');
  fails(encodeHello({ ...helloFrom(nonce, secret), nonce: new Uint8Array(8) }), 'nonce');
  fails(encodeHello({ ...helloFrom(nonce, secret), proof: new Uint8Array(31) }), 'proof');
  assert.throws(() => decodeHelloReply(encodeHello(helloFrom(nonce, secret))), HandshakeError);
  assert.throws(() => decodeChallenge(encodeChallenge(new Uint8Array(4))), (error: unknown) => error instanceof HandshakeError && error.field === 'nonce');
});

test('handshake: cluster ids are 1 to 128 UTF-8 bytes', () => {
  assert.ok(isValidClusterId('a'));
  assert.ok(isValidClusterId('a'.repeat(128)));
  assert.ok(!isValidClusterId(''));
  assert.ok(!isValidClusterId('é'.repeat(65)));
});
