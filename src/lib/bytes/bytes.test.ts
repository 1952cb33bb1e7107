import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError, varintBytesMax, varintSize } from './index.js';

class TestDecodeError extends Error {}
const namingReader = (bytes: Uint8Array): ByteReader =>
  new ByteReader(bytes, (field, problem) => {
    throw new TestDecodeError(`${field}: ${problem}`);
  });

test('bytes: varints round-trip over the whole safe range, with the size varintSize predicts', () => {
  fc.assert(
    fc.property(fc.oneof(fc.nat(300), fc.nat(2 ** 32), fc.maxSafeNat(), fc.constantFrom(0, 127, 128, 2 ** 53 - 1)), (value) => {
      const w = new ByteWriter(1).varint(value);
      assert.equal(w.size, varintSize(value));
      assert.ok(w.size <= varintBytesMax);
      const r = new ByteReader(w.finish());
      assert.equal(r.varint(), value);
      r.end();
    }),
  );
  assert.equal(new ByteWriter().varint(127).size, 1);
  assert.equal(new ByteWriter().varint(128).size, 2);
});

test('bytes: fixed-width integers are little-endian and round-trip', () => {
  const bytes = new ByteWriter(1)
    .u8(7)
    .u32(0xdeadbeef)
    .u53(Number.MAX_SAFE_INTEGER)
    .u53(0x1_0000_0001)
    .raw(new Uint8Array([1, 2, 3]))
    .finish();
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

test('bytes: the writer grows past its initial size and keeps earlier bytes', () => {
  const w = new ByteWriter(2);
  const values = Array.from({ length: 1000 }, (_, i) => i * 7919);
  for (const v of values) w.varint(v);
  w.byteString(new Uint8Array(5000).fill(9)).string('héllo').bool(true);
  const r = new ByteReader(w.written());
  for (const v of values) assert.equal(r.varint(), v);
  assert.deepEqual(r.byteString(), new Uint8Array(5000).fill(9));
  assert.equal(r.string(), 'héllo');
  assert.equal(r.bool(), true);
  r.end();
});

test('bytes: finish hands over a full buffer without a copy, trims a mostly empty one, and leaves the writer empty', () => {
  const value = new Uint8Array(1000).fill(7);
  const sized = new ByteWriter(1004).byteString(value);
  const handed = sized.finish();
  assert.equal(handed.length, 1002);
  // The writer's own buffer (1,004 bytes, 2 unused), not a 1,002-byte copy.
  assert.equal(handed.buffer.byteLength, 1004);
  // Written again, the writer starts a buffer of its own: what it handed over stays as it was.
  sized.u8(1).u8(2);
  assert.deepEqual(sized.finish(), new Uint8Array([1, 2]));
  assert.deepEqual(new ByteReader(handed).byteString(), value);

  const roomy = new ByteWriter(4096).u8(5);
  const trimmed = roomy.finish();
  assert.equal(trimmed.buffer.byteLength, 1);
  assert.equal(roomy.size, 0);
});

test('bytes: patchU32 fills in a value written late', () => {
  const w = new ByteWriter().u32(0).u8(9);
  w.patchU32(0, 42);
  assert.equal(new ByteReader(w.finish()).u32(), 42);
  assert.throws(() => w.patchU32(2, 1), { name: 'AssertionError' });
});

test('bytes: strings keep a leading byte order mark (a round trip gives back the same bytes)', () => {
  assert.equal(new ByteReader(new ByteWriter().string('\uFEFFkey').finish()).string(), '\uFEFFkey');
});

test('bytes: the reader names the field for every failure', () => {
  assert.throws(() => namingReader(new Uint8Array([])).u8('alpha'), /alpha: truncated/);
  assert.throws(() => namingReader(new Uint8Array([2])).bool('flag'), /flag: expected a boolean/);
  assert.throws(() => namingReader(new Uint8Array([0x80])).varint('n'), /n: truncated varint/);
  assert.throws(() => namingReader(new Uint8Array([0x80, 0])).varint('n'), /n: overlong varint/);
  assert.throws(() => namingReader(new Uint8Array(9).fill(0xff)).varint('n'), /n: varint longer than 8 bytes/);
  assert.throws(() => namingReader(new Uint8Array([5])).varintMax('n', 4), /n: 5 exceeds 4/);
  assert.throws(() => namingReader(new Uint8Array([0])).positiveVarint('id'), /id: must be at least 1/);
  assert.throws(() => namingReader(new Uint8Array([3, 1, 2])).count('items', 1), /items: count 3 needs at least 3 bytes, only 2 left/);
  assert.throws(() => namingReader(new Uint8Array([4, 1])).byteString('data'), /data: truncated: 4 bytes wanted at byte 1, only 1 left/);
  assert.throws(() => namingReader(new Uint8Array([9, 1])).string('name', 8), /name: length 9 exceeds 8 bytes/);
  assert.throws(() => namingReader(new Uint8Array([1, 0xff])).string('name'), /name: invalid UTF-8/);
  assert.throws(() => namingReader(new Uint8Array([1, 2])).view(4, 'magic'), /magic: truncated/);
  assert.throws(() => namingReader(new Uint8Array(8).fill(0xff)).u53('index'), /index: integer at byte 0 exceeds 2\^53 - 1/);
  const r = namingReader(new Uint8Array([1, 2]));
  r.u8('first');
  assert.throws(() => r.end('thing'), /thing: 1 unexpected trailing bytes after byte 1/);
});

test('bytes: without a failure of its own, the reader throws DecodeError', () => {
  assert.throws(() => new ByteReader(new Uint8Array(3)).u32(), DecodeError);
  assert.throws(() => new ByteReader(new Uint8Array([0x81, 0x00])).varint(), /overlong varint/);
  assert.throws(() => new ByteReader(new Uint8Array([5, 1, 2])).byteString(), DecodeError);
  const r = new ByteReader(new Uint8Array(2));
  r.u8();
  assert.throws(() => r.end('a record'), /^DecodeError: a record: 1 unexpected trailing bytes/);
});

test('bytes: raw() and byteString() copy, so a decoded value does not alias the input', () => {
  const input = new Uint8Array([3, 1, 2, 3, 4]);
  const r = new ByteReader(input);
  const string = r.byteString();
  const raw = r.raw(1);
  input.fill(99);
  assert.deepEqual([...string, ...raw], [1, 2, 3, 4]);
});

test('bytes: the writer asserts on values our own code must never produce', () => {
  const w = new ByteWriter();
  for (const bad of [-1, 0.5, Number.NaN, 2 ** 53]) {
    assert.throws(() => w.varint(bad), { name: 'AssertionError' });
    assert.throws(() => w.u53(bad), { name: 'AssertionError' });
  }
  assert.throws(() => w.u8(256), { name: 'AssertionError' });
  assert.throws(() => w.u32(2 ** 32), { name: 'AssertionError' });
});
