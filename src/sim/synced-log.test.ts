import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, HardState, Ready, Snapshot } from '../raft/types.js';
import { SyncedLog } from './synced-log.js';

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: new Uint8Array() });
const ready = (entries: Entry[], hardState?: HardState, snapshot?: Snapshot): Ready => ({
  softState: undefined,
  hardState,
  entries,
  snapshot,
  snapshotChunks: [],
  messages: [],
  committedEntries: [],
  readStates: [],
});
const snapshot = (index: number, term: number): Snapshot => ({ meta: { index, term, config: { voters: [1], learners: [] } }, data: new Uint8Array() });

test('a synced Ready extends the log, overwrites a conflicting tail, and sets the hard state', () => {
  const log = new SyncedLog();
  log.persisted(ready([entry(1, 1), entry(2, 1), entry(3, 1)], { term: 1, vote: 2, commit: 1 }));
  log.persisted(ready([entry(2, 2)], { term: 2, vote: 3, commit: 1 }));
  assert.equal(log.lastIndex(), 2);
  assert.equal(log.term(2), 2);
  assert.equal(log.term(3), undefined);
  assert.deepEqual(log.hardState, { term: 2, vote: 3, commit: 1 });
  log.persisted(ready([]));
  assert.deepEqual(log.hardState, { term: 2, vote: 3, commit: 1 }, 'a Ready without a hard state keeps the synced one');
});

test('compaction keeps the log after the snapshot when it agrees there, and drops it all when it does not', () => {
  const log = new SyncedLog();
  log.persisted(ready([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]));
  log.compacted(snapshot(2, 1).meta);
  assert.equal(log.snapshotIndex(), 2);
  assert.equal(log.term(2), 1);
  assert.equal(log.term(1), undefined);
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.term(4), 2);
  log.compacted(snapshot(1, 1).meta);
  assert.equal(log.snapshotIndex(), 2, 'an older snapshot changes nothing');
  // A leader's snapshot that disagrees at its index replaces the whole log (Figure 13).
  log.persisted(ready([], undefined, snapshot(3, 3)));
  assert.equal(log.snapshotIndex(), 3);
  assert.equal(log.lastIndex(), 3);
  log.persisted(ready([entry(4, 3)]));
  assert.equal(log.term(4), 3);
});

test('after a restart the view is what the core recovered', () => {
  const log = new SyncedLog();
  log.persisted(ready([entry(1, 1)], { term: 1, vote: 1, commit: 0 }));
  const entries = [entry(6, 4), entry(7, 4)];
  log.recovered({
    checkInvariants: () => {},
    status: () => ({ term: 4, vote: 2, commit: 6, firstIndex: 6 }) as ReturnType<Parameters<SyncedLog['recovered']>[0]['status']>,
    entriesFrom: (low) => entries.filter((e) => e.index >= low),
    currentSnapshot: () => snapshot(5, 3),
  });
  assert.deepEqual(log.hardState, { term: 4, vote: 2, commit: 6 });
  assert.equal(log.snapshotIndex(), 5);
  assert.equal(log.term(5), 3);
  assert.equal(log.lastIndex(), 7);
  assert.equal(log.term(7), 4);
});
