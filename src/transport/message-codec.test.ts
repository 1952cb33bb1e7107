import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, encodeMessageParts, MessageDecodeError, messageTags } from './message-codec.js';
import { frameCopyBytesMax, framePayload, joinParts } from './framing.js';
import { exampleMessages } from './testing/example-messages.js';
import { encodeConfigChange } from '../raft/config.js';
import type { ConfigChangeType, Entry, Message, MessageType } from '../raft/types.js';
import { ByteWriter } from '../lib/bytes/index.js';

// ---------------------------------------------------------------------------
// Generators of valid messages of every type.
// ---------------------------------------------------------------------------

/** Small numbers most of the time, the extremes sometimes. */
const uint = fc.oneof(
  { weight: 4, arbitrary: fc.nat(1000) },
  { weight: 1, arbitrary: fc.constantFrom(0, 127, 128, 16383, 16384, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);
const nodeId = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const data = fc.uint8Array({ maxLength: 300 });
const text = fc.string({ unit: 'binary', maxLength: 40 });
const ids = fc.uniqueArray(nodeId, { maxLength: 7 });
const config = ids.chain((all) => fc.nat(all.length).map((voterCount) => ({ voters: all.slice(0, voterCount), learners: all.slice(voterCount) })));
const changeTypes: ConfigChangeType[] = ['addVoter', 'addLearner', 'promoteLearner', 'removeNode'];
const configData = fc
  .record({ type: fc.constantFrom(...changeTypes), nodeId, voters: fc.uniqueArray(nodeId, { minLength: 1, maxLength: 5 }) })
  .map(({ type, nodeId: id, voters }) => encodeConfigChange({ type, nodeId: id }, { voters, learners: [] }));
const envelope = fc.record({ from: nodeId, to: nodeId, term: uint });

/** Entries that follow prevIndex contiguously with non-decreasing terms in [prevTerm, term]. */
const appendMessage = fc
  .record({
    from: nodeId,
    to: nodeId,
    prevIndex: fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 100 })),
    prevTerm: fc.nat(50),
    termAbove: fc.nat(50),
    commit: uint,
    entries: fc.array(fc.record({ bump: fc.nat(2), config: fc.boolean(), data, configData }), { maxLength: 8 }),
    commitOnly: fc.boolean(),
  })
  .map(({ from, to, prevIndex, prevTerm, termAbove, commit, entries, commitOnly }): Message => {
    let entryTerm = prevTerm;
    const list: Entry[] = entries.map((e, i) => {
      entryTerm = Math.min(entryTerm + (e.bump === 2 ? 1 : 0), prevTerm + termAbove);
      return { term: entryTerm, index: prevIndex + 1 + i, kind: e.config ? 'config' : 'normal', data: e.config ? e.configData : e.data };
    });
    const marked = commitOnly && list.length === 0 ? { commitOnly: true as const } : {};
    return { type: 'append', from, to, term: prevTerm + termAbove, prevIndex, prevTerm, commit, entries: list, ...marked };
  });

const snapshotMessage = fc
  .record({ from: nodeId, to: nodeId, term: uint, index: uint, termBelow: uint, config, offset: uint, data, done: fc.boolean() })
  .filter((m) => m.offset + m.data.length <= Number.MAX_SAFE_INTEGER)
  .map(
    ({ from, to, term, index, termBelow, config: c, offset, data: d, done }): Message => ({
      type: 'snapshot',
      from,
      to,
      term,
      meta: { index, term: Math.min(termBelow, term), config: c },
      offset,
      data: d,
      done,
    }),
  );

const arbitraries: Record<MessageType, fc.Arbitrary<Message>> = {
  vote: fc.record({ e: envelope, lastLogIndex: uint, lastLogTerm: uint, transfer: fc.boolean() }).map(({ e, ...rest }) => ({ type: 'vote', ...e, ...rest })),
  preVote: fc
    .record({ e: envelope, lastLogIndex: uint, lastLogTerm: uint, transfer: fc.boolean() })
    .map(({ e, ...rest }) => ({ type: 'preVote', ...e, ...rest })),
  voteResponse: fc.record({ e: envelope, granted: fc.boolean() }).map(({ e, granted }) => ({ type: 'voteResponse', ...e, granted })),
  preVoteResponse: fc.record({ e: envelope, granted: fc.boolean() }).map(({ e, granted }) => ({ type: 'preVoteResponse', ...e, granted })),
  append: appendMessage,
  appendResponse: fc
    .record({ e: envelope, success: fc.boolean(), index: uint, hintIndex: uint, hintTerm: uint })
    .map(({ e, ...rest }) => ({ type: 'appendResponse', ...e, ...rest })),
  heartbeat: fc.record({ e: envelope, commit: uint, seq: uint }).map(({ e, ...rest }) => ({ type: 'heartbeat', ...e, ...rest })),
  heartbeatResponse: fc.record({ e: envelope, seq: uint, lastIndex: uint }).map(({ e, ...rest }) => ({ type: 'heartbeatResponse', ...e, ...rest })),
  snapshot: snapshotMessage,
  snapshotResponse: fc
    .record({ e: envelope, snapshotIndex: uint, nextOffset: uint, done: fc.boolean() })
    .map(({ e, ...rest }) => ({ type: 'snapshotResponse', ...e, ...rest })),
  timeoutNow: envelope.map((e) => ({ type: 'timeoutNow', ...e })),
  readIndex: fc.record({ e: envelope, readId: text }).map(({ e, readId }) => ({ type: 'readIndex', ...e, readId })),
  readIndexResponse: fc.record({ e: envelope, readId: text, index: uint }).map(({ e, ...rest }) => ({ type: 'readIndexResponse', ...e, ...rest })),
  propose: fc.record({ e: envelope, data }).map(({ e, data: d }) => ({ type: 'propose', ...e, data: d })),
  leaseRenew: fc.record({ e: envelope, renewId: text, lease: uint }).map(({ e, ...rest }) => ({ type: 'leaseRenew', ...e, ...rest })),
  leaseRenewResponse: fc.record({ e: envelope, renewId: text, ttl: uint }).map(({ e, ...rest }) => ({ type: 'leaseRenewResponse', ...e, ...rest })),
};
const anyMessage = fc.oneof(...Object.values(arbitraries));

/** deepStrictEqual compares Uint8Arrays by content, so this checks every field. */
function roundTrip(message: Message): void {
  const encoded = encodeMessage(message);
  const decoded = decodeMessage(encoded);
  assert.deepEqual(decoded, message);
  // One value, one encoding: encoding what we decoded gives back the same bytes.
  assert.deepEqual(encodeMessage(decoded), encoded);
}

function rejects(bytes: Uint8Array, field: RegExp): void {
  assert.throws(
    () => decodeMessage(bytes),
    (error: unknown) => {
      assert.ok(error instanceof MessageDecodeError, `expected a MessageDecodeError, got ${String(error)}`);
      assert.match(error.field, field);
      assert.match(error.message, /^Cannot decode peer message: /);
      return true;
    },
  );
}

// ---------------------------------------------------------------------------

for (const [type, arbitrary] of Object.entries(arbitraries)) {
  test(`codec: random ${type} messages round-trip exactly`, () => {
    fc.assert(fc.property(arbitrary, roundTrip), { numRuns: 300 });
  });
}

test('codec: every tag in messageTags is distinct and every example round-trips', () => {
  const tags = Object.values(messageTags);
  assert.equal(new Set(tags).size, tags.length);
  for (const message of exampleMessages(1, 2)) roundTrip(message);
});

test('codec: the parts of a message join into its bytes, a large byte string standing as a part of its own', () => {
  const large = new Uint8Array(frameCopyBytesMax + 5).fill(3);
  const entries: Entry[] = [
    { term: 2, index: 8, kind: 'normal', data: new Uint8Array([1, 2]) },
    { term: 2, index: 9, kind: 'normal', data: large },
    { term: 2, index: 10, kind: 'normal', data: new Uint8Array([4]) },
  ];
  const append: Message = { type: 'append', from: 1, to: 2, term: 2, prevIndex: 7, prevTerm: 1, commit: 6, entries };
  const propose: Message = { type: 'propose', from: 2, to: 1, term: 2, data: large };
  for (const message of [...exampleMessages(1, 2), append, propose]) {
    const parts = encodeMessageParts(message);
    assert.deepEqual(joinParts(framePayload(parts)), encodeMessage(message), message.type);
  }
  const appendParts = encodeMessageParts(append);
  assert.equal(appendParts.length, 3);
  assert.equal(appendParts[1], large);
  assert.deepEqual(decodeMessage(joinParts(framePayload(appendParts))), append);
});

test('codec: decoded byte fields are copies, not views of the input buffer', () => {
  const message = exampleMessages(1, 2).find((m) => m.type === 'propose');
  assert.ok(message?.type === 'propose');
  const encoded = encodeMessage(message);
  const decoded = decodeMessage(encoded);
  assert.ok(decoded.type === 'propose');
  encoded.fill(0);
  assert.deepEqual(decoded.data, message.data);
  // Sockets hand out Buffers, whose slice() is a view: the decoder must still copy,
  // into plain Uint8Arrays.
  const fromSocket = Buffer.from(encodeMessage(message));
  const decodedFromBuffer = decodeMessage(fromSocket);
  assert.ok(decodedFromBuffer.type === 'propose');
  fromSocket.fill(0);
  assert.deepEqual(decodedFromBuffer.data, message.data);
  assert.equal(Object.getPrototypeOf(decodedFromBuffer.data), Uint8Array.prototype);
});

test('codec: every strict prefix of a valid message is rejected as truncated', () => {
  fc.assert(
    fc.property(anyMessage, (message) => {
      const encoded = encodeMessage(message);
      for (let length = 0; length < encoded.length; length++) {
        assert.throws(() => decodeMessage(encoded.subarray(0, length)), MessageDecodeError);
      }
    }),
    { numRuns: 200 },
  );
});

test('codec: trailing bytes after a valid message are rejected', () => {
  fc.assert(
    fc.property(anyMessage, fc.uint8Array({ minLength: 1, maxLength: 8 }), (message, extra) => {
      const encoded = encodeMessage(message);
      const padded = new Uint8Array(encoded.length + extra.length);
      padded.set(encoded);
      padded.set(extra, encoded.length);
      rejects(padded, /^\w+$/);
    }),
    { numRuns: 200 },
  );
});

test('codec: random garbage never decodes into something invalid, and only MessageDecodeError is thrown', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
      try {
        const message = decodeMessage(garbage);
        // Rarely, garbage is a valid message; then it must survive a round trip.
        assert.deepEqual(encodeMessage(message), garbage);
      } catch (error) {
        assert.ok(error instanceof MessageDecodeError, `unexpected ${String(error)}`);
      }
    }),
    { numRuns: 5000 },
  );
});

test('codec: flipping bytes of a valid message gives a valid message or a MessageDecodeError, never another error', () => {
  fc.assert(
    fc.property(anyMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (message, flips) => {
      const encoded = encodeMessage(message).slice();
      for (const [at, xor] of flips) encoded[at % encoded.length] = (encoded[at % encoded.length] as number) ^ xor;
      try {
        decodeMessage(encoded);
      } catch (error) {
        assert.ok(error instanceof MessageDecodeError, `unexpected ${String(error)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

/** Builds raw wire bytes for the negative tests. */
function wire(build: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  build(w);
  return w.written().slice();
}

test('codec: names the problem for unknown tags, bad ids, booleans and varints', () => {
  rejects(new Uint8Array([]), /^tag$/);
  rejects(new Uint8Array([0]), /^tag$/);
  rejects(new Uint8Array([99, 1, 2, 3]), /^tag$/);
  // from = 0 ("no node") is not a sender.
  rejects(
    wire((w) => [messageTags.timeoutNow, 0, 2, 3].forEach((b) => w.u8(b))),
    /^timeoutNow\.from$/,
  );
  rejects(
    wire((w) => [messageTags.timeoutNow, 1, 0, 3].forEach((b) => w.u8(b))),
    /^timeoutNow\.to$/,
  );
  // A boolean must be 0 or 1.
  rejects(
    wire((w) => [messageTags.voteResponse, 1, 2, 3, 2].forEach((b) => w.u8(b))),
    /^voteResponse\.granted$/,
  );
  // Overlong varint (1 written as 0x81 0x00).
  rejects(new Uint8Array([messageTags.timeoutNow, 0x81, 0x00, 2, 3]), /^timeoutNow\.from$/);
  // A varint above 2^53 - 1 (eight bytes of 0xff then 0x7f would be 2^63 - 1).
  rejects(new Uint8Array([messageTags.timeoutNow, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /^timeoutNow\.term$/);
  rejects(new Uint8Array([messageTags.timeoutNow, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /^timeoutNow\.term$/);
  // 2^53 exactly: the smallest unsafe integer.
  const w = new ByteWriter();
  w.u8(messageTags.timeoutNow);
  w.varint(1);
  w.varint(2);
  const unsafe = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
  rejects(new Uint8Array([...w.written(), ...unsafe]), /^timeoutNow\.term$/);
});

test('codec: append entries must follow prevIndex contiguously with sane terms; only an empty append is commit-only', () => {
  const append = (entries: [term: number, index: number][], term = 5, prevIndex = 10, prevTerm = 3, commitOnly = false): Uint8Array =>
    wire((w) => {
      w.u8(messageTags.append);
      w.varint(1);
      w.varint(2);
      w.varint(term);
      w.varint(prevIndex);
      w.varint(prevTerm);
      w.varint(0);
      w.bool(commitOnly);
      w.varint(entries.length);
      for (const [t, i] of entries) {
        w.varint(t);
        w.varint(i);
        w.u8(0);
        w.byteString(new Uint8Array([1, 2]));
      }
    });
  assert.equal(
    decodeMessage(
      append([
        [3, 11],
        [4, 12],
        [5, 13],
      ]),
    ).type,
    'append',
  );
  rejects(
    append([
      [3, 11],
      [3, 13],
    ]),
    /^append\.entries\[1\]\.index$/,
  );
  rejects(append([[3, 12]]), /^append\.entries\[0\]\.index$/);
  rejects(
    append([
      [4, 11],
      [3, 12],
    ]),
    /^append\.entries\[1\]\.term$/,
  );
  rejects(append([[2, 11]]), /^append\.entries\[0\]\.term$/);
  assert.deepEqual(decodeMessage(append([], 5, 10, 3, true)), {
    type: 'append',
    from: 1,
    to: 2,
    term: 5,
    prevIndex: 10,
    prevTerm: 3,
    commit: 0,
    entries: [],
    commitOnly: true,
  });
  rejects(append([[3, 11]], 5, 10, 3, true), /^append\.commitOnly$/);
  rejects(append([[6, 11]]), /^append\.entries\[0\]\.term$/);
  // A count larger than the bytes could hold is refused before any allocation.
  rejects(
    wire((w) => {
      w.u8(messageTags.append);
      [1, 2, 5, 10, 3, 0].forEach((v) => w.varint(v));
      w.bool(false);
      w.varint(Number.MAX_SAFE_INTEGER);
    }),
    /^append\.entries\.length$/,
  );
});

test('codec: entry kinds and config entry contents are validated', () => {
  const oneEntry = (kind: number, data: Uint8Array): Uint8Array =>
    wire((w) => {
      w.u8(messageTags.append);
      [1, 2, 5, 0, 0, 0].forEach((v) => w.varint(v));
      w.bool(false); // commitOnly
      [1, 5, 1].forEach((v) => w.varint(v));
      w.u8(kind);
      w.byteString(data);
    });
  assert.equal(decodeMessage(oneEntry(1, encodeConfigChange({ type: 'addVoter', nodeId: 4 }, { voters: [1, 4], learners: [] }))).type, 'append');
  rejects(oneEntry(2, new Uint8Array()), /^append\.entries\[0\]\.kind$/);
  rejects(oneEntry(1, new TextEncoder().encode('not json')), /^append\.entries\[0\]\.data$/);
  rejects(oneEntry(1, new TextEncoder().encode('{"type":"addVoter","nodeId":0,"voters":[1],"learners":[]}')), /^append\.entries\[0\]\.data$/);
});

test('codec: byte and string lengths must fit in the frame; strings must be UTF-8', () => {
  const propose = (length: number, body: number[]): Uint8Array =>
    wire((w) => {
      w.u8(messageTags.propose);
      [1, 2, 3, length].forEach((v) => w.varint(v));
      body.forEach((b) => w.u8(b));
    });
  assert.equal(decodeMessage(propose(2, [7, 8])).type, 'propose');
  rejects(propose(3, [7, 8]), /^propose\.data$/);
  rejects(propose(Number.MAX_SAFE_INTEGER, [7, 8]), /^propose\.data$/);
  const readIndex = (body: number[]): Uint8Array =>
    wire((w) => {
      w.u8(messageTags.readIndex);
      [1, 2, 3, body.length].forEach((v) => w.varint(v));
      body.forEach((b) => w.u8(b));
    });
  assert.equal(decodeMessage(readIndex([0x68, 0x69])).type, 'readIndex');
  rejects(readIndex([0xc3, 0x28]), /^readIndex\.readId$/);
  rejects(readIndex([0xed, 0xa0, 0x80]), /^readIndex\.readId$/); // a lone surrogate
});

test('codec: snapshot configurations hold real, distinct ids and a term no higher than the message', () => {
  const snapshot = (voters: number[], learners: number[], metaTerm = 2): Uint8Array =>
    wire((w) => {
      w.u8(messageTags.snapshot);
      [1, 2, 5, 100, metaTerm].forEach((v) => w.varint(v));
      w.varint(voters.length);
      voters.forEach((id) => w.varint(id));
      w.varint(learners.length);
      learners.forEach((id) => w.varint(id));
      w.varint(0);
      w.bool(true);
      w.byteString(new Uint8Array([1]));
    });
  assert.equal(decodeMessage(snapshot([1, 2, 3], [4])).type, 'snapshot');
  rejects(snapshot([1, 2, 1], []), /^snapshot\.meta\.config\.voters\[2\]$/);
  rejects(snapshot([1, 2], [2]), /^snapshot\.meta\.config\.learners\[0\]$/);
  rejects(snapshot([0], []), /^snapshot\.meta\.config\.voters\[0\]$/);
  rejects(snapshot([1], [], 6), /^snapshot\.meta\.term$/);
});

test('codec: the encoder refuses malformed messages from our own code (a bug, not input)', () => {
  const bad = [
    { type: 'timeoutNow', from: 1, to: 2, term: -1 },
    { type: 'timeoutNow', from: 1, to: 2, term: 1.5 },
    { type: 'timeoutNow', from: 0, to: 2, term: 1 },
    { type: 'heartbeat', from: 1, to: 2, term: 1, commit: Number.MAX_SAFE_INTEGER + 1, seq: 0 },
  ] as unknown as Message[];
  for (const message of bad) assert.throws(() => encodeMessage(message), { name: 'AssertionError' });
});

test('codec: a small append is compact', () => {
  const message: Message = {
    type: 'append',
    from: 1,
    to: 2,
    term: 3,
    prevIndex: 1_000_000,
    prevTerm: 3,
    commit: 999_999,
    entries: [{ term: 3, index: 1_000_001, kind: 'normal', data: new Uint8Array(100) }],
  };
  // tag + ids + term + 3 indexes/terms + count + entry header (term, 3-byte index, kind, length) + data
  assert.ok(encodeMessage(message).length <= 120, `append of 100 bytes encodes to ${encodeMessage(message).length} bytes`);
});
