import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, MalformedError } from './bytes.js';

test('bytes: values round-trip, little-endian, across buffer growth', () => {
  const w = new ByteWriter(1);
  w.u8(7)
    .u32(0xdeadbeef)
    .u53(Number.MAX_SAFE_INTEGER)
    .u53(0x1_0000_0001)
    .bytes(new Uint8Array([1, 2, 3]));
  const bytes = w.finish();
  assert.equal(bytes.length, 1 + 4 + 8 + 8 + 3);
  assert.deepEqual([...bytes.subarray(1, 5)], [0xef, 0xbe, 0xad, 0xde]);
  const r = new ByteReader(bytes);
  assert.equal(r.u8(), 7);
  assert.equal(r.u32(), 0xdeadbeef);
  assert.equal(r.u53(), Number.MAX_SAFE_INTEGER);
  assert.equal(r.u53(), 0x1_0000_0001);
  assert.deepEqual(r.rest(), new Uint8Array([1, 2, 3]));
  r.end('test');
});

test('bytes: patchU32 fills in a value written late', () => {
  const w = new ByteWriter();
  w.u32(0).u8(9);
  w.patchU32(0, 42);
  assert.equal(new ByteReader(w.finish()).u32(), 42);
  assert.throws(() => w.patchU32(2, 1), RangeError);
});

test('bytes: the writer refuses values it could not read back exactly', () => {
  const w = new ByteWriter();
  assert.throws(() => w.u53(-1), RangeError);
  assert.throws(() => w.u53(2 ** 53), RangeError);
  assert.throws(() => w.u53(1.5), RangeError);
  assert.throws(() => w.u32(2 ** 32), RangeError);
});

test('bytes: the reader reports truncation, oversize integers and leftovers as MalformedError', () => {
  assert.throws(() => new ByteReader(new Uint8Array(3)).u32(), MalformedError);
  const big = new Uint8Array(8).fill(0xff);
  assert.throws(() => new ByteReader(big).u53(), MalformedError);
  const r = new ByteReader(new Uint8Array(2));
  r.u8();
  assert.throws(() => r.end('a record'), MalformedError);
});

test('bytes: bytes() copies, so a decoded value does not alias the input', () => {
  const input = new Uint8Array([1, 2, 3]);
  const out = new ByteReader(input).bytes(3);
  input[0] = 99;
  assert.equal(out[0], 1);
});
