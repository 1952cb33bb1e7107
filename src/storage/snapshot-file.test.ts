import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Snapshot } from '../raft/types.js';
import { MalformedError } from './bytes.js';
import { decodeSnapshotFile, encodeSnapshotFile } from './snapshot-file.js';

const snapshot: Snapshot = {
  meta: { index: 1234, term: 7, config: { voters: [1, 2, 3], learners: [9] } },
  data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff),
};

function fileBytes(s: Snapshot): Uint8Array {
  const [header, data] = encodeSnapshotFile(s);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

test('snapshot file: meta, config and data round-trip', () => {
  assert.deepEqual(decodeSnapshotFile(fileBytes(snapshot)), snapshot);
  const empty: Snapshot = { meta: { index: 1, term: 1, config: { voters: [], learners: [] } }, data: new Uint8Array(0) };
  assert.deepEqual(decodeSnapshotFile(fileBytes(empty)), empty);
});

test('snapshot file: any flipped bit is detected', () => {
  const bytes = fileBytes(snapshot);
  for (let i = 0; i < bytes.length; i += 7) {
    const damaged = bytes.slice();
    damaged[i] = (damaged[i] as number) ^ 0x04;
    assert.throws(() => decodeSnapshotFile(damaged), MalformedError, `byte ${i}`);
  }
});

test('snapshot file: truncation and foreign files are named as such', () => {
  const bytes = fileBytes(snapshot);
  assert.throws(() => decodeSnapshotFile(bytes.subarray(0, bytes.length - 1)), /truncated: data of 1000 bytes, only 999 present/);
  assert.throws(() => decodeSnapshotFile(bytes.subarray(0, 10)), /truncated: only 10 bytes/);
  assert.throws(() => decodeSnapshotFile(new TextEncoder().encode('hello, this is not a snapshot')), /bad magic/);
});
