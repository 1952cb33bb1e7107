import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cInHardware, crc32cTables } from './crc32c.js';
import { Prng } from '../lib/prng.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const filled = (length: number, f: (i: number) => number): Uint8Array => Uint8Array.from({ length }, (_, i) => f(i));

/** The textbook bit-at-a-time definition, to check the table-driven one against. */
function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

test('crc32c: the standard check value and the RFC 3720 (iSCSI) vectors', () => {
  assert.equal(crc32c(ascii('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(filled(32, () => 0xff)), 0x62a8ab43);
  assert.equal(crc32c(filled(32, (i) => i)), 0x46dd794e);
  assert.equal(crc32c(filled(32, (i) => 31 - i)), 0x113fdb5c);
});

test("crc32c: the table loop and the processor's instruction agree with the bitwise definition at every length and alignment", () => {
  const prng = new Prng(7);
  const data = filled(300, () => prng.int(256));
  for (let start = 0; start < 9; start++) {
    for (let length = 0; length + start <= data.length; length += 1 + prng.int(5)) {
      const piece = data.subarray(start, start + length);
      assert.equal(crc32c(piece), crc32cBitwise(piece), `start ${start} length ${length}`);
    }
  }
});

test('crc32c: checksumming in pieces equals checksumming the whole', () => {
  const prng = new Prng(11);
  for (let round = 0; round < 50; round++) {
    const data = filled(prng.int(200), () => prng.int(256));
    const cut = prng.int(data.length + 1);
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data));
  }
});

test('crc32c: a single flipped bit changes the checksum', () => {
  const data = ascii('the quick brown fox jumps over the lazy dog');
  const base = crc32c(data);
  for (let i = 0; i < data.length * 8; i++) {
    const copy = Uint8Array.from(data);
    copy[i >> 3] = (copy[i >> 3] as number) ^ (1 << (i & 7));
    assert.notEqual(crc32c(copy), base);
  }
});

test("crc32c: the processor's instruction is used on this platform, and agrees with the table loop on long inputs and in pieces across the switch", () => {
  // A lockfile or install that lost the native module would slow every WAL write and
  // replay without failing anything else.
  assert.ok(crc32cInHardware, 'the native CRC-32C module loads');
  const prng = new Prng(13);
  const data = filled(200_000, () => prng.int(256));
  for (let round = 0; round < 40; round++) {
    const start = prng.int(64);
    const piece = data.subarray(start, start + prng.int(data.length - start));
    assert.equal(crc32c(piece), crc32cTables(piece), `start ${start} length ${piece.length}`);
    const cut = prng.int(piece.length + 1);
    assert.equal(crc32c(piece.subarray(cut), crc32c(piece.subarray(0, cut))), crc32cTables(piece));
  }
});
