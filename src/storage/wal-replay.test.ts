import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../raft/types.js';
import { LogReplay } from './wal-replay.js';
import type { ReplayResult } from './wal-replay.js';
import type { WalRecord } from './wal-records.js';

const e = (index: number, term: number): WalRecord => ({ type: 'entry', entry: { index, term, kind: 'normal', data: new Uint8Array([index]) } });
const entry = (index: number, term: number): Entry => (e(index, term) as { entry: Entry }).entry;

function replay(records: WalRecord[]): ReplayResult | string {
  const r = new LogReplay();
  for (const record of records) {
    const problem = r.apply(record);
    if (problem) return problem;
  }
  return r.result();
}

test('replay: a later entry at i discards entries >= i; the newest hard state wins', () => {
  const result = replay([
    e(1, 1),
    e(2, 1),
    e(3, 1),
    { type: 'hardState', hardState: { term: 1, vote: 1, commit: 1 } },
    e(2, 2),
    { type: 'hardState', hardState: { term: 2, vote: 2, commit: 1 } },
  ]);
  assert.deepEqual(result, {
    hardState: { term: 2, vote: 2, commit: 1 },
    snapshotIndex: 0,
    snapshotTerm: 0,
    entries: [entry(1, 1), entry(2, 2)],
    spilled: undefined,
    compacted: [],
    bytesAfterSnapshot: 2,
  });
});

test('replay: a snapshot marker moves entries at or below it aside; later entries there are dropped', () => {
  const result = replay([e(1, 1), e(2, 1), e(3, 1), { type: 'snapshot', index: 2, term: 1 }, e(2, 9), e(4, 1)]) as ReplayResult;
  assert.equal(result.snapshotIndex, 2);
  assert.deepEqual(result.entries, [entry(3, 1), entry(4, 1)]);
  assert.deepEqual(result.compacted, [entry(1, 1), entry(2, 1)]);
});

test('replay: a restore voids everything before it, including entries past the snapshot', () => {
  const result = replay([e(1, 1), e(2, 1), e(3, 1), e(4, 1), { type: 'restore', index: 3, term: 2 }, e(4, 2)]) as ReplayResult;
  assert.deepEqual([result.snapshotIndex, result.snapshotTerm], [3, 2]);
  assert.deepEqual(result.entries, [entry(4, 2)]);
  assert.deepEqual(result.compacted, []);
  assert.match(replay([{ type: 'restore', index: 3, term: 2 }, e(5, 2)]) as string, /follows a restore to snapshot 3; expected 4/);
});

test('replay: the log may start anywhere (old segments deleted) as long as it reaches the snapshot', () => {
  const result = replay([{ type: 'snapshot', index: 0, term: 0 }, e(11, 1), e(12, 1), { type: 'snapshot', index: 11, term: 1 }]) as ReplayResult;
  assert.deepEqual(result.entries, [entry(12, 1)]);
  assert.match(replay([{ type: 'snapshot', index: 0, term: 0 }, e(11, 1)]) as string, /entries 1\.\.10 are missing/);
});

test('replay: contradictions are reported, not smoothed over', () => {
  assert.match(replay([e(1, 1), e(3, 1)]) as string, /entry 3 follows entry 1/);
  assert.match(replay([e(1, 2), e(2, 1)]) as string, /term 1, lower than the term 2/);
  assert.match(replay([e(1, 1), e(2, 1), { type: 'snapshot', index: 2, term: 5 }]) as string, /entry there has term 1/);
  assert.match(replay([e(1, 1), { type: 'snapshot', index: 2, term: 1 }]) as string, /past the last entry 1/);
  assert.match(
    replay([e(1, 1), e(2, 1), { type: 'snapshot', index: 2, term: 1 }, { type: 'snapshot', index: 1, term: 1 }]) as string,
    /marker at 1 after one at 2/,
  );
});

test('replay past its memory bound keeps committed entries on disk only: their terms, and their config entries whole', () => {
  const r = new LogReplay(4);
  const config: WalRecord = { type: 'entry', entry: { index: 3, term: 1, kind: 'config', data: new Uint8Array([3]) } };
  const records: WalRecord[] = [
    e(1, 1),
    e(2, 1),
    config,
    { type: 'hardState', hardState: { term: 2, vote: 1, commit: 6 } },
    e(4, 2),
    e(5, 2),
    e(6, 2),
    e(7, 2),
    e(8, 2),
  ];
  for (const record of records) assert.equal(r.apply(record), undefined);
  const result = r.result();
  assert.ok(typeof result !== 'string', result as string);
  const spilled = result.spilled;
  assert.ok(spilled);
  assert.equal(spilled.terms.first(), 1);
  assert.ok(spilled.terms.last() <= 6, 'only committed entries');
  assert.equal(spilled.terms.term(2), 1);
  assert.deepEqual(spilled.configEntries, [(config as { entry: Entry }).entry]);
  assert.equal(result.entries[0]?.index, spilled.terms.last() + 1);
  assert.equal(result.entries.at(-1)?.index, 8);
  assert.equal(result.bytesAfterSnapshot, 8, 'every entry is after the snapshot, spilled or not');
  // An entry that would overwrite one already recorded committed is corruption.
  assert.match(r.apply(e(2, 3)) as string, /entry 2 overwrites entry \d+, which a hard state before it recorded as committed/);
});

test('replay past its memory bound: a snapshot marker inside the spilled entries leaves the log after it on disk', () => {
  const r = new LogReplay(2);
  for (const record of [{ type: 'hardState', hardState: { term: 1, vote: 1, commit: 9 } } as WalRecord, ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => e(i, 1))])
    r.apply(record);
  assert.equal(r.apply({ type: 'snapshot', index: 3, term: 1 }), undefined);
  assert.match(r.apply({ type: 'snapshot', index: 4, term: 2 }) as string, /snapshot marker at 4 has term 2, but the entry there has term 1/);
  const result = r.result();
  assert.ok(typeof result !== 'string', result as string);
  assert.equal(result.snapshotIndex, 3);
  assert.ok((result.spilled?.terms.last() ?? 0) > 3);
});
