import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, varintBytesMax, varintSize } from './binary.js';

class TestDecodeError extends Error {}
const reader = (bytes: Uint8Array): ByteReader =>
  new ByteReader(bytes, (field, problem) => {
    throw new TestDecodeError(`${field}: ${problem}`);
  });

test('binary: varints round-trip over the whole safe range, with the size varintSize predicts', () => {
  fc.assert(
    fc.property(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, 127, 128, 2 ** 53 - 1)), (value) => {
      const w = new ByteWriter(1);
      w.varint(value);
      assert.equal(w.bytes().length, varintSize(value));
      assert.ok(w.bytes().length <= varintBytesMax);
      const r = reader(w.bytes());
      assert.equal(r.varint('v'), value);
      r.end('v');
    }),
  );
});

test('binary: the writer grows past its initial size and keeps earlier bytes', () => {
  const w = new ByteWriter(2);
  const values = Array.from({ length: 1000 }, (_, i) => i * 7919);
  for (const v of values) w.varint(v);
  w.byteString(new Uint8Array(5000).fill(9));
  w.string('héllo');
  const r = reader(w.bytes());
  for (const v of values) assert.equal(r.varint('v'), v);
  assert.deepEqual(r.byteString('b'), new Uint8Array(5000).fill(9));
  assert.equal(r.string('s'), 'héllo');
  r.end('all');
});

test('binary: the reader names the field for every failure', () => {
  assert.throws(() => reader(new Uint8Array([])).u8('alpha'), /alpha: truncated/);
  assert.throws(() => reader(new Uint8Array([2])).bool('flag'), /flag: expected a boolean/);
  assert.throws(() => reader(new Uint8Array([0x80])).varint('n'), /n: truncated varint/);
  assert.throws(() => reader(new Uint8Array([0x80, 0])).varint('n'), /n: overlong varint/);
  assert.throws(() => reader(new Uint8Array([5])).varintMax('n', 4), /n: 5 exceeds 4/);
  assert.throws(() => reader(new Uint8Array([0])).positiveVarint('id'), /id: must be at least 1/);
  assert.throws(() => reader(new Uint8Array([3, 1, 2])).count('items', 1), /items: count 3 needs at least 3 bytes, only 2 left/);
  assert.throws(() => reader(new Uint8Array([4, 1])).byteString('data'), /data: length 4 exceeds the 1 bytes left/);
  assert.throws(() => reader(new Uint8Array([9, 1])).string('name', 8), /name: length 9 exceeds 8 bytes/);
  assert.throws(() => reader(new Uint8Array([1, 0xff])).string('name'), /name: is not valid UTF-8/);
  assert.throws(() => reader(new Uint8Array([1, 2])).rawView('magic', 4), /magic: truncated/);
  const r = reader(new Uint8Array([1, 2]));
  r.u8('first');
  assert.throws(() => r.end('thing'), /thing: 1 unexpected trailing bytes after byte 1/);
});

test('binary: the writer asserts on values our own code must never produce', () => {
  const w = new ByteWriter();
  assert.throws(() => w.varint(-1), { name: 'AssertionError' });
  assert.throws(() => w.varint(0.5), { name: 'AssertionError' });
  assert.throws(() => w.varint(2 ** 53), { name: 'AssertionError' });
  assert.throws(() => w.u8(256), { name: 'AssertionError' });
});
