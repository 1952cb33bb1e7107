import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../lib/bytes/index.js';
import { RECORD_HEADER_BYTES, appendRecord, scanRecords } from './record-codec.js';

function frames(payloads: string[]): { bytes: Uint8Array; offsets: number[] } {
  const w = new ByteWriter();
  const offsets: number[] = [];
  payloads.forEach((p, i) => {
    offsets.push(w.size);
    appendRecord(w, i + 1, (x) => x.raw(new TextEncoder().encode(p)));
  });
  return { bytes: w.finish(), offsets };
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('record codec: frames round-trip with their type, payload and offset', () => {
  const { bytes, offsets } = frames(['alpha', '', 'gamma gamma']);
  const result = scanRecords(bytes);
  assert.equal(result.bad, undefined);
  assert.equal(result.goodBytes, bytes.length);
  assert.deepEqual(
    result.records.map((r) => [r.offset, r.type, text(r.payload)]),
    [
      [offsets[0], 1, 'alpha'],
      [offsets[1], 2, ''],
      [offsets[2], 3, 'gamma gamma'],
    ],
  );
  // length field = type byte + payload
  assert.equal(new DataView(bytes.buffer).getUint32(0, true), 1 + 5);
});

test('record codec: an empty file is clean', () => {
  assert.deepEqual(scanRecords(new Uint8Array(0)), { records: [], goodBytes: 0, bad: undefined });
});

test('record codec: a record cut short anywhere is a bad spot with nothing valid after it', () => {
  const { bytes, offsets } = frames(['one', 'two', 'three is longer']);
  const lastStart = offsets[2] as number;
  for (let cut = lastStart + 1; cut < bytes.length; cut++) {
    const result = scanRecords(bytes.subarray(0, cut));
    assert.equal(result.records.length, 2, `cut at ${cut}`);
    assert.equal(result.goodBytes, lastStart);
    assert.equal(result.bad?.offset, lastStart);
    assert.equal(result.bad?.nextValidOffset, undefined);
  }
});

test('record codec: zeros to the end are unused space (a preallocated tail), not a bad spot', () => {
  const { bytes } = frames(['one']);
  const padded = new Uint8Array(bytes.length + 100);
  padded.set(bytes);
  const result = scanRecords(padded);
  assert.equal(result.records.length, 1);
  assert.equal(result.goodBytes, bytes.length);
  assert.equal(result.bad, undefined);
});

test('record codec: a record in a zero tail is still found, so zeros in the middle stay damage', () => {
  const { bytes } = frames(['one']);
  const gapped = new Uint8Array(bytes.length * 2 + 100);
  gapped.set(bytes);
  gapped.set(bytes, bytes.length + 100);
  const result = scanRecords(gapped);
  assert.equal(result.records.length, 1);
  assert.equal(result.bad?.offset, bytes.length);
  assert.equal(result.bad?.nextValidOffset, bytes.length + 100);
});

test('record codec: a flipped bit in any byte of a middle record is found, and the next record is seen', () => {
  const { bytes, offsets } = frames(['first', 'second record', 'third']);
  const [, second, third] = offsets as [number, number, number];
  for (let i = second; i < third; i++) {
    const damaged = bytes.slice();
    damaged[i] = (damaged[i] as number) ^ 0x10;
    const result = scanRecords(damaged);
    assert.equal(result.records.length, 1, `byte ${i}`);
    assert.equal(result.bad?.offset, second);
    assert.equal(result.bad?.nextValidOffset, third, `byte ${i}`);
  }
});

test('record codec: a flipped bit in the last record looks like a torn tail', () => {
  const { bytes, offsets } = frames(['first', 'last']);
  const damaged = bytes.slice();
  damaged[bytes.length - 1] = (damaged[bytes.length - 1] as number) ^ 1;
  const result = scanRecords(damaged);
  assert.equal(result.bad?.offset, offsets[1]);
  assert.equal(result.bad?.reason, 'crc mismatch');
  assert.equal(result.bad?.nextValidOffset, undefined);
});

test('record codec: zero length and absurd lengths are bad spots', () => {
  const { bytes } = frames(['a', 'b']);
  const zeroLength = bytes.slice();
  zeroLength.fill(0, 0, 4);
  assert.equal(scanRecords(zeroLength).bad?.reason, 'zero length');
  assert.equal(scanRecords(zeroLength).bad?.nextValidOffset, RECORD_HEADER_BYTES + 2, 'the second record starts after the 8-byte header, type and "a"');
  const huge = bytes.slice();
  huge.fill(0xff, 0, 4);
  assert.match(scanRecords(huge).bad?.reason ?? '', /exceeds the record limit/);
});
