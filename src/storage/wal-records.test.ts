import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../lib/bytes/index.js';
import { scanRecords } from './record-codec.js';
import { decodeWalRecord, encodeWriteGroup } from './wal-records.js';
import type { WalRecord } from './wal-records.js';

test('wal records: every record type round-trips through framing and decoding', () => {
  const records: WalRecord[] = [
    { type: 'segment', seq: 3, firstIndex: 2 ** 40 },
    { type: 'entry', entry: { term: 7, index: 12, kind: 'normal', data: new Uint8Array([1, 2, 3]) } },
    { type: 'entry', entry: { term: 7, index: 13, kind: 'config', data: new Uint8Array(0) } },
    { type: 'hardState', hardState: { term: 7, vote: 2, commit: 12 } },
    { type: 'snapshot', index: 10, term: 6 },
    { type: 'restore', index: Number.MAX_SAFE_INTEGER, term: 1 },
  ];
  const scan = scanRecords(encodeWriteGroup(records));
  assert.equal(scan.bad, undefined);
  assert.deepEqual(
    scan.records.map((raw) => decodeWalRecord(raw)),
    [...records, { type: 'commit', count: records.length }],
    'sealed by a commit record',
  );
});

test('wal records: unknown types, unknown entry kinds, other format versions and stray bytes are DecodeError', () => {
  const decode = (type: number, payload: number[]) => decodeWalRecord({ offset: 0, end: 0, type, payload: new Uint8Array(payload) });
  assert.throws(() => decode(99, []), /unknown record type 99/);
  const entryWithKind = (kind: number) => [...new Array(8).fill(0), 1, ...new Array(7).fill(0), kind];
  assert.throws(() => decode(2, entryWithKind(7)), /unknown entry kind 7/);
  assert.throws(() => decode(1, [2, 0, 0, 0, ...new Array(16).fill(0)]), /unsupported WAL format version 2/);
  assert.throws(() => decode(4, new Array(17).fill(0)), DecodeError);
  assert.throws(() => decode(3, [1]), DecodeError);
});
