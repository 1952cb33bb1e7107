import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError } from './byte-codec.js';

test('varints round-trip over the safe integers, in 1 to 8 bytes', () => {
  fc.assert(
    fc.property(fc.oneof(fc.nat(300), fc.nat(2 ** 32), fc.maxSafeNat()), (n) => {
      const bytes = new ByteWriter(1).uint(n).finish();
      assert.ok(bytes.length >= 1 && bytes.length <= 8);
      const r = new ByteReader(bytes);
      assert.equal(r.uint(), n);
      r.end();
    }),
  );
  assert.equal(new ByteWriter().uint(127).finish().length, 1);
  assert.equal(new ByteWriter().uint(128).finish().length, 2);
});

test('the writer refuses numbers that are not safe non-negative integers', () => {
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => new ByteWriter().uint(bad), RangeError);
});

test('the reader refuses truncated input, over-long and non-minimal varints, bad UTF-8 and trailing bytes', () => {
  assert.throws(() => new ByteReader(new Uint8Array([0x80])).uint(), DecodeError);
  assert.throws(() => new ByteReader(new Uint8Array(9).fill(0xff)).uint(), DecodeError);
  assert.throws(() => new ByteReader(new Uint8Array([0x81, 0x00])).uint(), /not minimally encoded/);
  assert.throws(() => new ByteReader(new Uint8Array([5, 1, 2])).bytes(), /5 bytes wanted/);
  assert.throws(() => new ByteReader(new Uint8Array([1, 0xff])).string(), /UTF-8/);
  assert.throws(() => new ByteReader(new Uint8Array([2])).bool(), /bad boolean/);
  const r = new ByteReader(new Uint8Array([1, 2]));
  r.byte();
  assert.throws(() => r.end(), /1 unexpected trailing bytes/);
});

test('bytes and strings round-trip; raw() returns copies that do not alias the input', () => {
  const data = new ByteWriter(2)
    .bytes(new Uint8Array([1, 2, 3]))
    .string('héllo')
    .bool(true)
    .finish();
  const r = new ByteReader(data);
  const copy = r.bytes();
  assert.deepEqual(copy, new Uint8Array([1, 2, 3]));
  data[1] = 99;
  assert.equal(copy[0], 1);
  assert.equal(r.string(), 'héllo');
  assert.equal(r.bool(), true);
  r.end();
});
