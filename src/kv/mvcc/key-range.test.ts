import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareBytes, inRange, isFromKey, isSingleKey, prefixEnd } from './key-range.js';

const u8 = (...v: number[]): Uint8Array => new Uint8Array(v);

test('prefixEnd leaves its argument alone, a Buffer too (whose slice() shares bytes)', () => {
  const prefix = Buffer.from('lock/');
  const end = prefixEnd(prefix);
  assert.equal(prefix.toString(), 'lock/');
  assert.deepEqual(end, new Uint8Array(Buffer.from('lock0')));
});

test('prefixEnd: the first key after every key with the prefix (etcd GetPrefixRangeEnd)', () => {
  assert.deepEqual(prefixEnd(u8(0x61)), u8(0x62));
  assert.deepEqual(prefixEnd(u8(0x61, 0xff)), u8(0x62));
  assert.deepEqual(prefixEnd(u8(0x61, 0xfe, 0xff, 0xff)), u8(0x61, 0xff));
  assert.deepEqual(prefixEnd(u8(0xff, 0xff)), u8(0), 'no end: every key from the prefix on');
  assert.deepEqual(prefixEnd(u8()), u8(0));
});

test('a key is in [prefix, prefixEnd(prefix)) exactly when it starts with the prefix', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 6 }), (prefix, key) => {
      const starts = key.length >= prefix.length && compareBytes(key.subarray(0, prefix.length), prefix) === 0;
      assert.equal(inRange(key, prefix, prefixEnd(prefix)), starts);
    }),
    { numRuns: 3000 },
  );
});

test('range forms: single key, from key, half-open interval', () => {
  assert.ok(isSingleKey(undefined) && isSingleKey(u8()) && !isSingleKey(u8(0)));
  assert.ok(isFromKey(u8(0)) && !isFromKey(u8(0, 0)) && !isFromKey(undefined));
  assert.ok(inRange(u8(5), u8(5), undefined) && !inRange(u8(5, 0), u8(5), undefined));
  assert.ok(inRange(u8(9), u8(5), u8(0)) && !inRange(u8(4), u8(5), u8(0)));
  assert.ok(inRange(u8(5), u8(5), u8(6)) && !inRange(u8(6), u8(5), u8(6)) && inRange(u8(5, 255), u8(5), u8(6)));
  assert.ok(!inRange(u8(5), u8(6), u8(5)), 'an empty interval holds nothing');
});

test('compareBytes agrees with Buffer.compare', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5 }), fc.uint8Array({ maxLength: 5 }), (a, b) => {
      assert.equal(Math.sign(compareBytes(a, b)), Buffer.compare(a, b));
    }),
  );
});
