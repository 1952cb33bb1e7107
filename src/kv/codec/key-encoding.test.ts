import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  afterAllRevisions,
  decodeKey,
  encodedKeyLength,
  encodedLength,
  encodeKey,
  historyKey,
  KEY_BYTES_PHYSICAL_MAX,
  LMDB_KEY_BYTES_MAX,
  revisionOfHistoryKey,
  REVISION_BYTES,
} from './key-encoding.js';

const sign = (n: number): number => Math.sign(n);
// Short keys over a tiny alphabet, so that prefixes, zero bytes and 0xff collide often.
const keyArb = fc.oneof(
  fc.uint8Array({ maxLength: 20 }),
  fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0xfe, 0xff), { maxLength: 18 }).map((a) => new Uint8Array(a)),
);

test('encodeKey preserves byte order: a < b exactly when enc(a) < enc(b)', () => {
  fc.assert(
    fc.property(keyArb, keyArb, (a, b) => {
      assert.equal(sign(Buffer.compare(encodeKey(a), encodeKey(b))), sign(Buffer.compare(a, b)));
    }),
    { numRuns: 2000 },
  );
});

test('encodeKey is prefix-free, so (key, revision) pairs sort by key first, then revision', () => {
  fc.assert(
    fc.property(keyArb, keyArb, fc.nat(2 ** 40), fc.nat(2 ** 40), (a, b, ra, rb) => {
      const ea = encodeKey(a);
      const eb = encodeKey(b);
      if (Buffer.compare(a, b) !== 0) {
        assert.ok(!ea.subarray(0, eb.length).equals(eb) || ea.length < eb.length, 'no encoding is a prefix of another');
        assert.equal(sign(Buffer.compare(historyKey(ea, ra), historyKey(eb, rb))), sign(Buffer.compare(a, b)));
        // afterAllRevisions(a) separates a's records from every other key's.
        const after = afterAllRevisions(ea);
        assert.equal(Buffer.compare(historyKey(eb, rb), after) < 0, Buffer.compare(b, a) < 0);
      } else {
        assert.equal(sign(Buffer.compare(historyKey(ea, ra), historyKey(eb, rb))), sign(ra - rb));
      }
    }),
    { numRuns: 2000 },
  );
});

test('decodeKey inverts encodeKey, with or without a revision after it', () => {
  fc.assert(
    fc.property(keyArb, fc.nat(2 ** 53 - 1), (key, revision) => {
      const encoded = encodeKey(key);
      assert.equal(encoded.length, encodedLength(key.length));
      assert.deepEqual(decodeKey(encoded), key);
      const withRevision = historyKey(encoded, revision);
      assert.equal(encodedKeyLength(withRevision), encoded.length);
      assert.deepEqual(decodeKey(withRevision), key);
      assert.equal(revisionOfHistoryKey(withRevision), revision);
    }),
    { numRuns: 1000 },
  );
});

test('group boundaries: 7, 8 and 9 byte keys take 1, 2 and 2 groups; an exact multiple adds a padding group', () => {
  assert.equal(encodeKey(new Uint8Array(7)).length, 9);
  assert.equal(encodeKey(new Uint8Array(8)).length, 18);
  assert.equal(encodeKey(new Uint8Array(9)).length, 18);
  assert.deepEqual([...encodeKey(new Uint8Array([0x61]))], [0x61, 0, 0, 0, 0, 0, 0, 0, 0xf8]);
  assert.deepEqual([...encodeKey(new Uint8Array(0))], [0, 0, 0, 0, 0, 0, 0, 0, 0xf7]);
});

test('the largest allowed key still fits in an LMDB key with its revision', () => {
  assert.ok(encodedLength(KEY_BYTES_PHYSICAL_MAX) + REVISION_BYTES <= LMDB_KEY_BYTES_MAX);
  assert.ok(encodedLength(KEY_BYTES_PHYSICAL_MAX + 1) + REVISION_BYTES > LMDB_KEY_BYTES_MAX);
});
