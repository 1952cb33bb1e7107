import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MvccStore } from './mvcc-store.js';
import { bytes, withTempStore } from '../testing/temp-store.js';

const ALL = new Uint8Array([0]);

function fill(store: MvccStore, keys: number, rounds: number): void {
  let index = store.appliedIndex();
  for (let round = 0; round < rounds; round++) {
    const batch = [];
    for (let k = 0; k < keys; k++) batch.push({ index: ++index, command: { body: { type: 'put' as const, key: bytes(`k${k}`), value: bytes(`r${round}`) } } });
    store.applyBatch(batch);
  }
}

const everything = (store: MvccStore, revision = 0): unknown => store.range({ type: 'range', key: ALL, rangeEnd: ALL, revision });

test('compaction removes superseded history in bounded steps, one per no-op, invisibly to reads', async () => {
  await withTempStore(
    (store) => {
      fill(store, 10, 10); // 100 records, revisions 2..101
      const target = 61; // rounds 0..5 done by revision 61
      const stateAt = everything(store, target);
      const now = everything(store);
      let index = store.appliedIndex();
      store.apply(++index, { body: { type: 'compact', revision: target } });
      assert.equal(store.compactedRevision(), target);
      // The compact entry took the first step: 7 byRevision records looked at.
      assert.ok(store.stats().compactionPending);
      let steps = 1;
      while (store.stats().compactionPending) {
        assert.deepEqual(everything(store, target), stateAt, 'reads at the compacted revision never change');
        assert.deepEqual(everything(store), now);
        store.apply(++index, { body: { type: 'noop' } });
        steps++;
      }
      // 60 records at or below 61 (rounds 0..5): ceil(60 / 7) = 9 steps, the last one short.
      assert.equal(steps, 9);
      // Kept: round 5 (the latest at 61) and rounds 6..9.
      assert.equal(store.stats().historyRecords, 50);
      assert.equal(store.stats().byRevisionRecords, 50);
      assert.deepEqual(everything(store, target), stateAt);
    },
    { compactionStepRecordsMax: 7 },
  );
});

test('a compaction to a later revision while one is running goes on with the later target and finishes both', async () => {
  await withTempStore(
    (store) => {
      fill(store, 5, 6); // 30 records, revisions 2..31
      let index = store.appliedIndex();
      store.apply(++index, { body: { type: 'compact', revision: 11 } });
      store.apply(++index, { body: { type: 'deleteRange', key: bytes('k0') } }); // revision 32
      store.apply(++index, { body: { type: 'compact', revision: 32 } });
      while (store.stats().compactionPending) store.apply(++index, { body: { type: 'noop' } });
      // Per key only the round-5 record survives; k0 was deleted at 32, so its tombstone and history go.
      assert.equal(store.stats().historyRecords, 4);
      const all = everything(store);
      assert.ok(all && typeof all === 'object' && 'ok' in all && all.ok);
    },
    { compactionStepRecordsMax: 4 },
  );
});

test('a compaction visits only the records written since the previous one, not the whole store', async () => {
  await withTempStore(
    (store) => {
      fill(store, 100, 1); // 100 keys, revisions 2..101
      let index = store.appliedIndex();
      const drain = (): number => {
        let steps = 1;
        while (store.stats().compactionPending) {
          store.apply(++index, { body: { type: 'noop' } });
          steps++;
        }
        return steps;
      };
      store.apply(++index, { body: { type: 'compact', revision: 101 } });
      assert.equal(drain(), 11, 'the first compaction visits all 100 records, 10 a step, and one more step finds the end');
      for (let round = 0; round < 3; round++) {
        for (const k of [3, 50, 97]) store.apply(++index, { body: { type: 'put', key: bytes(`k${k}`), value: bytes(`again${round}`) } });
      }
      store.apply(++index, { body: { type: 'deleteRange', key: bytes('k50') } }); // revision 111
      const stateAt = everything(store, 111);
      store.apply(++index, { body: { type: 'compact', revision: 111 } });
      assert.equal(drain(), 2, 'the 10 records of revisions 102..111 take one step (and one to find the end), not the 11 that 110 records would');
      // k3 and k97 keep their last put, k50 nothing (its tombstone is the latest), the other 97 keys their one record.
      assert.equal(store.stats().historyRecords, 99);
      assert.equal(store.stats().byRevisionRecords, 99);
      assert.deepEqual(everything(store, 111), stateAt);
    },
    { compactionStepRecordsMax: 10 },
  );
});

test('only the compact entry and no-ops take a step: puts applied meanwhile, in one batch or many, free nothing', async () => {
  await withTempStore(
    (store) => {
      fill(store, 10, 5); // 50 records
      let index = store.appliedIndex();
      store.apply(++index, { body: { type: 'compact', revision: store.currentRevision() } });
      const afterFirstStep = store.stats().historyRecords;
      assert.equal(afterFirstStep, 50 - 4, 'the compact entry visited 4 records of round 0, superseded');
      const puts = Array.from({ length: 30 }, (_, i) => ({
        index: ++index,
        command: { body: { type: 'put' as const, key: bytes(`other${i}`), value: bytes('x') } },
      }));
      store.applyBatch(puts);
      assert.equal(store.stats().historyRecords, afterFirstStep + 30, 'a batch of 30 puts took no step');
      assert.ok(store.stats().compactionPending);
      store.apply(++index, { body: { type: 'noop' } });
      assert.equal(store.stats().historyRecords, afterFirstStep + 30 - 4, 'a no-op took one');
    },
    { compactionStepRecordsMax: 4 },
  );
});

test('an idle store keeps its pending compaction; the next entry resumes it', async () => {
  await withTempStore(
    (store) => {
      fill(store, 4, 4);
      store.apply(store.appliedIndex() + 1, { body: { type: 'compact', revision: 17 } });
      const pending = store.stats();
      assert.ok(pending.compactionPending);
      assert.deepEqual(store.stats(), pending, 'reads do no compaction work');
      store.apply(store.appliedIndex() + 1, { body: { type: 'noop' } });
      assert.ok(store.stats().historyRecords < pending.historyRecords);
    },
    { compactionStepRecordsMax: 2 },
  );
});
