import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, Snapshot } from '../raft/types.js';
import { SimDisk } from './disk.js';

function entry(index: number, term: number, text = ''): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(text) };
}

function snapshot(index: number, term: number): Snapshot {
  return { meta: { index, term, config: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array() };
}

test('a write persists entries then hard state, and load gives them back', () => {
  const disk = new SimDisk();
  assert.deepEqual(disk.write({ snapshot: undefined, entries: [entry(1, 1), entry(2, 1)], hardState: { term: 1, vote: 2, commit: 1 } }), []);
  const loaded = disk.load();
  assert.deepEqual(loaded.hardState, { term: 1, vote: 2, commit: 1 });
  assert.deepEqual(loaded.entries.map((e) => e.index), [1, 2]);
  assert.equal(disk.term(2), 1);
  assert.equal(disk.lastIndex(), 2);
});

test('entries overwrite the log from their first index', () => {
  const disk = new SimDisk();
  disk.write({ snapshot: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: undefined });
  assert.deepEqual(disk.write({ snapshot: undefined, entries: [entry(2, 2)], hardState: undefined }), []);
  assert.deepEqual(disk.load().entries.map((e) => `${e.index}/${e.term}`), ['1/1', '2/2']);
});

test('broken rules come back as problems: gaps, vote changes, term and commit going back', () => {
  const disk = new SimDisk();
  disk.write({ snapshot: undefined, entries: [entry(1, 1)], hardState: { term: 2, vote: 1, commit: 1 } });
  assert.match(disk.write({ snapshot: undefined, entries: [entry(3, 2)], hardState: undefined })[0] ?? '', /gap/);
  assert.match(disk.write({ snapshot: undefined, entries: [], hardState: { term: 2, vote: 3, commit: 1 } })[0] ?? '', /one vote per term/);
  assert.match(disk.write({ snapshot: undefined, entries: [], hardState: { term: 1, vote: 0, commit: 1 } }).join(), /term goes back/);
  assert.match(disk.write({ snapshot: undefined, entries: [], hardState: { term: 3, vote: 0, commit: 0 } }).join(), /commit index goes back/);
  assert.match(disk.write({ snapshot: undefined, entries: [], hardState: { term: 3, vote: 0, commit: 9 } }).join(), /beyond the persisted log/);
});

test('overwriting a committed entry with another term is a problem', () => {
  const disk = new SimDisk();
  disk.write({ snapshot: undefined, entries: [entry(1, 1), entry(2, 1)], hardState: { term: 1, vote: 0, commit: 2 } });
  assert.match(disk.write({ snapshot: undefined, entries: [entry(2, 2)], hardState: undefined })[0] ?? '', /overwrites 2\/t1/);
  // Writing the same entry again is harmless.
  const again = new SimDisk();
  again.write({ snapshot: undefined, entries: [entry(1, 1)], hardState: { term: 1, vote: 0, commit: 1 } });
  assert.deepEqual(again.write({ snapshot: undefined, entries: [entry(1, 1), entry(2, 1)], hardState: undefined }), []);
});

test('a snapshot from the leader replaces the whole log', () => {
  const disk = new SimDisk();
  disk.write({ snapshot: undefined, entries: [entry(1, 1), entry(2, 1)], hardState: { term: 2, vote: 0, commit: 1 } });
  assert.deepEqual(disk.write({ snapshot: snapshot(5, 2), entries: [entry(6, 2)], hardState: { term: 2, vote: 0, commit: 5 } }), []);
  assert.equal(disk.firstIndex(), 6);
  assert.equal(disk.lastIndex(), 6);
  assert.equal(disk.term(5), 2);
  assert.equal(disk.term(2), undefined);
  assert.equal(disk.load().snapshot?.meta.index, 5);
});

test('saving a local snapshot drops the log it covers and checks its term', () => {
  const disk = new SimDisk();
  disk.write({ snapshot: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 2)], hardState: { term: 2, vote: 0, commit: 3 } });
  assert.deepEqual(disk.saveSnapshot(snapshot(2, 1)), []);
  assert.deepEqual(disk.load().entries.map((e) => e.index), [3]);
  assert.match(disk.saveSnapshot(snapshot(3, 9))[0] ?? '', /does not match/);
});

test('a torn write keeps a prefix of the entries and no hard state', () => {
  const disk = new SimDisk();
  disk.write({ snapshot: undefined, entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 0 } });
  disk.writePrefix({ snapshot: undefined, entries: [entry(2, 2), entry(3, 2), entry(4, 2)], hardState: { term: 2, vote: 2, commit: 3 } }, { withSnapshot: false, entriesCount: 2 });
  assert.equal(disk.lastIndex(), 3);
  assert.deepEqual(disk.hardState, { term: 1, vote: 1, commit: 0 });
});

test('a torn write without its snapshot keeps nothing of it', () => {
  const disk = new SimDisk();
  disk.writePrefix({ snapshot: snapshot(5, 2), entries: [entry(6, 2)], hardState: undefined }, { withSnapshot: false, entriesCount: 1 });
  assert.equal(disk.lastIndex(), 0);
  assert.equal(disk.snapshot, undefined);
});
