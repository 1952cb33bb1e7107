import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Snapshot } from '../raft/types.js';
import { SnapshotCorruptionError, StorageMismatchError } from './errors.js';
import { planRecovery } from './recovery-plan.js';
import type { WalState } from './wal.js';

const e = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: new Uint8Array([index & 0xff]) });
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => e(from + i, term));
const snap = (index: number, term: number): Snapshot => ({ meta: { index, term, config: { voters: [1], learners: [] } }, data: new Uint8Array([7]) });

function wal(snapshotIndex: number, snapshotTerm: number, entries: Entry[], compacted: Entry[] = [], commit = 0): WalState {
  return { hardState: { term: 3, vote: 1, commit }, snapshotIndex, snapshotTerm, spilled: undefined, entries, compacted, bytesAfterSnapshot: 0 };
}

test('recovery plan: snapshot and WAL agree — nothing to fix', () => {
  const plan = planRecovery({ snapshot: snap(10, 2), damaged: [], wal: wal(10, 2, range(11, 15, 2), [], 12) });
  assert.deepEqual(plan.persisted, { hardState: { term: 3, vote: 1, commit: 12 }, snapshot: snap(10, 2), entries: range(11, 15, 2) });
  assert.equal(plan.walFix, undefined);
  assert.deepEqual(plan.warnings, []);
});

test('recovery plan: a local snapshot whose compaction record was lost — keep the entries after it, record the compaction', () => {
  const plan = planRecovery({ snapshot: snap(12, 2), damaged: [], wal: wal(10, 2, range(11, 15, 2)) });
  assert.deepEqual(plan.persisted.entries, range(13, 15, 2));
  assert.deepEqual(plan.walFix, { kind: 'compact', index: 12, term: 2 });
});

test('recovery plan: an installed snapshot whose restore record was lost — the old log is void', () => {
  for (const snapshot of [snap(12, 5), snap(40, 5)]) {
    const plan = planRecovery({ snapshot, damaged: [], wal: wal(10, 2, range(11, 15, 2)) });
    assert.deepEqual(plan.persisted.entries, []);
    assert.deepEqual(plan.walFix, { kind: 'restore', index: snapshot.meta.index, term: 5 });
  }
});

test('recovery plan: a damaged newest snapshot falls back to an older one, loudly, when the WAL still holds the entries between', () => {
  const damaged = [{ file: '0000000000000020-0000000000000002.snap', reason: 'crc mismatch' }];
  const plan = planRecovery({ snapshot: snap(10, 2), damaged, wal: wal(20, 2, range(21, 25, 2), range(8, 20, 2), 22) });
  assert.deepEqual(plan.persisted.entries, range(11, 25, 2));
  assert.deepEqual(plan.quarantine, [damaged[0]?.file]);
  assert.match(
    plan.warnings[0] as string,
    /SNAPSHOT FALLBACK: the newest snapshot file 0000000000000020-0000000000000002\.snap is damaged \(crc mismatch\); starting from the older snapshot at index 10 and replaying entries 11\.\.20/,
  );
});

test('recovery plan: ...and refuses, naming the file, when the WAL no longer holds them', () => {
  const damaged = [{ file: '0000000000000020-0000000000000002.snap', reason: 'crc mismatch' }];
  assert.throws(
    () => planRecovery({ snapshot: snap(10, 2), damaged, wal: wal(20, 2, range(21, 25, 2), range(15, 20, 2)) }),
    (err: unknown) =>
      err instanceof SnapshotCorruptionError &&
      err.file === damaged[0]?.file &&
      /the WAL no longer holds entries 11\.\.20 to rebuild it from the older snapshot at index 10; refusing to start/.test(err.message),
  );
});

test('recovery plan: a damaged snapshot with no older valid one is an error naming the file', () => {
  assert.throws(
    () => planRecovery({ snapshot: undefined, damaged: [{ file: 'x.snap', reason: 'bad magic' }], wal: wal(10, 2, []) }),
    (err: unknown) =>
      err instanceof SnapshotCorruptionError && err.file === 'x.snap' && /Cannot load snapshot x\.snap: bad magic; no older valid snapshot/.test(err.message),
  );
});

test('recovery plan: a damaged snapshot newer than the WAL marker only warns (the WAL has everything)', () => {
  const plan = planRecovery({ snapshot: snap(10, 2), damaged: [{ file: 'n.snap', reason: 'crc mismatch' }], wal: wal(10, 2, range(11, 30, 2)) });
  assert.deepEqual(plan.persisted.entries, range(11, 30, 2));
  assert.match(plan.warnings.join('\n'), /SNAPSHOT DAMAGED: n\.snap/);
});

test('recovery plan: contradictions no crash explains are refused', () => {
  assert.throws(() => planRecovery({ snapshot: snap(10, 3), damaged: [], wal: wal(10, 2, []) }), StorageMismatchError);
  assert.throws(() => planRecovery({ snapshot: undefined, damaged: [], wal: wal(10, 2, range(11, 12, 2)) }), /no snapshot file at index 10 exists/);
  assert.throws(() => planRecovery({ snapshot: undefined, damaged: [], wal: wal(0, 0, range(1, 3, 1), [], 5) }), /committed, but the log ends at 3/);
});
