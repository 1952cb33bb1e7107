import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WalCorruptionError } from './errors.js';
import { readSegment } from './segment-reader.js';
import { ByteWriter } from '../lib/bytes/index.js';
import { appendWalRecord, encodeWriteGroup } from './wal-records.js';
import type { WalRecord } from './wal-records.js';

const file = { name: '0000000000000001-0000000000000001.wal', seq: 1, firstIndex: 1 };
const header: WalRecord = { type: 'segment', seq: 1, firstIndex: 1 };
const entry = (index: number): WalRecord => ({ type: 'entry', entry: { index, term: 1, kind: 'normal', data: new Uint8Array([index]) } });

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('segment reader: complete write groups come back without their commit records', () => {
  const data = concat(encodeWriteGroup([header]), encodeWriteGroup([entry(1), entry(2)]));
  const read = readSegment(file, data, true);
  assert.equal(read.torn, undefined);
  assert.deepEqual(
    read.groups.map((g) => g.map((r) => r.record.type)),
    [['segment'], ['entry', 'entry']],
  );
});

test('segment reader: a write missing its commit record is a torn tail in the newest segment, corruption in an older one', () => {
  const first = encodeWriteGroup([header]);
  const second = encodeWriteGroup([entry(1), entry(2)]);
  const cut = second.subarray(0, second.length - 3); // the commit record is torn
  const read = readSegment(file, concat(first, cut), true);
  assert.equal(read.groups.length, 1);
  assert.deepEqual(read.torn, {
    offset: first.length,
    reason: `a write of 2 complete records without its commit record, then record of 5 bytes runs past the end of the file (2 bytes left) at offset ${first.length + cut.length - 10}`,
    droppedBytes: cut.length,
  });
  // In an older segment the same bytes are corruption: at the bad record, or, cut at a
  // record boundary, at the write that lacks its commit record.
  assert.throws(
    () => readSegment(file, concat(first, cut), false),
    (e: unknown) => e instanceof WalCorruptionError && e.offset === first.length + cut.length - 10,
  );
  const unsealed = second.subarray(0, second.length - 13);
  assert.throws(
    () => readSegment(file, concat(first, unsealed), false),
    (e: unknown) => e instanceof WalCorruptionError && e.offset === first.length && /has no commit record, in a segment that is not the newest/.test(e.message),
  );
  assert.equal(readSegment(file, concat(first, unsealed), true).torn?.offset, first.length);
});

test('segment reader: the header must come first and match the file name', () => {
  assert.throws(() => readSegment(file, encodeWriteGroup([entry(1)]), true), /expected a segment header at offset 0, found a entry record/);
  assert.throws(() => readSegment({ ...file, seq: 2 }, encodeWriteGroup([header]), true), /named for seq 2/);
  assert.throws(() => readSegment(file, concat(encodeWriteGroup([header]), encodeWriteGroup([header])), true), /a second segment header/);
});

test('segment reader: a commit record that seals the wrong number of records is corruption', () => {
  const w = new ByteWriter();
  for (const record of [header, entry(1)]) appendWalRecord(w, record);
  appendWalRecord(w, { type: 'commit', count: 5 });
  assert.throws(
    () => readSegment(file, w.finish(), true),
    (e: unknown) => e instanceof WalCorruptionError && /seals 5 records, but its group has 2/.test(e.message),
  );
});
