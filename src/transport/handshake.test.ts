import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeHello,
  decodeHelloReply,
  encodeHello,
  encodeHelloReply,
  handshakeFrameBytesMax,
  HandshakeError,
  isValidClusterId,
  refusalOf,
  replyProblem,
} from './handshake.js';

const self = { clusterId: 'prod-east', nodeId: 2, isPeer: (id: number) => id === 1 || id === 3 };

test('handshake: hello and replies round-trip and fit the handshake frame limit', () => {
  const hello = { clusterId: 'prod-east', from: 1, to: 2 };
  assert.deepEqual(decodeHello(encodeHello(hello)), hello);
  const welcome = { ok: true, clusterId: 'prod-east', nodeId: 2 } as const;
  assert.deepEqual(decodeHelloReply(encodeHelloReply(welcome)), welcome);
  const refusal = { ok: false, clusterId: 'prod-east', nodeId: 2, reason: 'no' } as const;
  assert.deepEqual(decodeHelloReply(encodeHelloReply(refusal)), refusal);
  const longest = encodeHelloReply({ ok: false, clusterId: 'é'.repeat(64), nodeId: Number.MAX_SAFE_INTEGER, reason: 'x'.repeat(5000) });
  assert.ok(longest.length <= handshakeFrameBytesMax, `${longest.length} > ${handshakeFrameBytesMax}`);
  assert.match((decodeHelloReply(longest) as { reason: string }).reason, /^x+\.\.\.$/);
});

test('handshake: the acceptor refuses another cluster, a misaddressed hello, its own id and unknown nodes', () => {
  assert.equal(refusalOf({ clusterId: 'prod-east', from: 1, to: 2 }, self), undefined);
  assert.match(refusalOf({ clusterId: 'prod-west', from: 1, to: 2 }, self) ?? '', /cluster id mismatch/);
  assert.match(refusalOf({ clusterId: 'prod-east', from: 1, to: 3 }, self) ?? '', /wants node 3, but this is node 2/);
  assert.match(refusalOf({ clusterId: 'prod-east', from: 2, to: 2 }, self) ?? '', /own id 2/);
  assert.match(refusalOf({ clusterId: 'prod-east', from: 7, to: 2 }, self) ?? '', /node 7 is not a known peer/);
});

test('handshake: the connecting side checks the reply names the cluster and node it meant', () => {
  const expected = { clusterId: 'prod-east', nodeId: 2 };
  assert.equal(replyProblem({ ok: true, clusterId: 'prod-east', nodeId: 2 }, expected), undefined);
  assert.match(replyProblem({ ok: false, clusterId: 'prod-east', nodeId: 2, reason: 'go away' }, expected) ?? '', /refused by the peer: go away/);
  assert.match(replyProblem({ ok: true, clusterId: 'other', nodeId: 2 }, expected) ?? '', /cluster id mismatch/);
  assert.match(replyProblem({ ok: true, clusterId: 'prod-east', nodeId: 5 }, expected) ?? '', /expected node 2 at this address, found node 5/);
});

test('handshake: garbage, another protocol version and the wrong kind are refused with a named field', () => {
  const fails = (bytes: Uint8Array, field: string): void => {
    assert.throws(() => decodeHello(bytes), (error: unknown) => error instanceof HandshakeError && error.field === field);
  };
  fails(new TextEncoder().encode('GET / HTTP/1.1\r\n'), 'magic');
  const hello = encodeHello({ clusterId: 'c', from: 1, to: 2 }).slice();
  hello[4] = 9;
  fails(hello, 'version');
  fails(encodeHelloReply({ ok: true, clusterId: 'c', nodeId: 2 }), 'kind');
  fails(encodeHello({ clusterId: 'c', from: 1, to: 2 }).subarray(0, 7), 'clusterId');
  assert.throws(() => decodeHelloReply(encodeHello({ clusterId: 'c', from: 1, to: 2 })), HandshakeError);
});

test('handshake: cluster ids are 1 to 128 UTF-8 bytes', () => {
  assert.ok(isValidClusterId('a'));
  assert.ok(isValidClusterId('a'.repeat(128)));
  assert.ok(!isValidClusterId(''));
  assert.ok(!isValidClusterId('é'.repeat(65)));
});
