import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MvccStore } from './mvcc-store.js';
import { bytes, text, withTempStore } from '../testing/temp-store.js';
import type { CommandBody, HistoryRequest, HistoryResponse, KeyVersion } from '../types.js';

function apply(store: MvccStore, body: CommandBody): void {
  const outcome = store.apply(store.appliedIndex() + 1, { body });
  assert.ok(outcome.status === 'applied' && outcome.result.ok, JSON.stringify(outcome));
}

function history(store: MvccStore, request: Omit<HistoryRequest, 'type'>): HistoryResponse {
  const result = store.history({ type: 'history', ...request });
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.value;
}

const show = (versions: readonly KeyVersion[]): string[] =>
  versions.map((v) => (v.type === 'delete' ? `del@${v.modRevision}` : `${text(v.kv.value)}@${v.kv.modRevision}/c${v.kv.createRevision}/v${v.kv.version}`));
const put = (key: string, value: string): CommandBody => ({ type: 'put', key: bytes(key), value: bytes(value) });
const del = (key: string): CommandBody => ({ type: 'deleteRange', key: bytes(key) });

test('history: every put and delete of one key, newest first by default, oldest first on request; neighbours stay out', async () => {
  await withTempStore((store) => {
    apply(store, put('a', '1')); // 2
    apply(store, put('ab', 'x')); // 3: a longer key sharing the prefix
    apply(store, put('a', '2')); // 4
    apply(store, put('a\0', 'y')); // 5: the next key in byte order
    apply(store, del('a')); // 6
    apply(store, put('a', '3')); // 7: a new life
    const newest = history(store, { key: bytes('a') });
    assert.deepEqual(show(newest.versions), ['3@7/c7/v1', 'del@6', '2@4/c2/v2', '1@2/c2/v1']);
    assert.equal(newest.more, false);
    assert.equal(newest.revision, 7);
    assert.equal(newest.compactRevision, 0);
    assert.deepEqual(show(history(store, { key: bytes('a'), order: 'ascend' }).versions), ['1@2/c2/v1', '2@4/c2/v2', 'del@6', '3@7/c7/v1']);
    assert.deepEqual(show(history(store, { key: bytes('ab') }).versions), ['x@3/c3/v1']);
    assert.deepEqual(history(store, { key: bytes('zz') }).versions, []);
  });
});

test('history: limit sets more; revision and minRevision bound the page, so pages chain both ways', async () => {
  await withTempStore((store) => {
    for (let i = 1; i <= 6; i++) apply(store, put('k', String(i))); // revisions 2..7
    const first = history(store, { key: bytes('k'), limit: 2 });
    assert.deepEqual(show(first.versions), ['6@7/c2/v6', '5@6/c2/v5']);
    assert.equal(first.more, true);
    const second = history(store, { key: bytes('k'), limit: 2, revision: 5 });
    assert.deepEqual(show(second.versions), ['4@5/c2/v4', '3@4/c2/v3']);
    const last = history(store, { key: bytes('k'), limit: 2, revision: 3 });
    assert.deepEqual(show(last.versions), ['2@3/c2/v2', '1@2/c2/v1']);
    assert.equal(last.more, false, 'exactly `limit` versions left: no more');
    const forward = history(store, { key: bytes('k'), order: 'ascend', limit: 3, minRevision: 4 });
    assert.deepEqual(show(forward.versions), ['3@4/c2/v3', '4@5/c2/v4', '5@6/c2/v5']);
    assert.equal(forward.more, true);
  });
});

test('history after compaction: the version visible at the compacted revision stays, older ones and a tombstone there go, before and after physical removal', async () => {
  await withTempStore(
    (store) => {
      apply(store, put('a', '1')); // 2
      apply(store, put('a', '2')); // 3
      apply(store, put('b', '1')); // 4
      apply(store, del('b')); // 5
      apply(store, put('a', '3')); // 6
      apply(store, { type: 'compact', revision: 5 });
      // compactionStepRecordsMax 1: the physical removal is still under way here.
      assert.equal(store.stats().compactionPending, true);
      const expectA = ['3@6/c2/v3', '2@3/c2/v2'];
      assert.deepEqual(show(history(store, { key: bytes('a') }).versions), expectA);
      assert.deepEqual(show(history(store, { key: bytes('b') }).versions), []);
      assert.deepEqual(show(history(store, { key: bytes('a'), order: 'ascend', limit: 1 }).versions), ['2@3/c2/v2']);
      for (let i = 0; i < 10; i++) apply(store, { type: 'noop' });
      assert.equal(store.stats().compactionPending, false);
      assert.deepEqual(show(history(store, { key: bytes('a') }).versions), expectA);
      assert.deepEqual(show(history(store, { key: bytes('b') }).versions), []);
      assert.equal(history(store, { key: bytes('a') }).compactRevision, 5);
    },
    { compactionStepRecordsMax: 1 },
  );
});

test('history: a compacted or future revision and bad input are refused with their codes', async () => {
  await withTempStore((store) => {
    for (let i = 1; i <= 4; i++) apply(store, put('k', String(i)));
    apply(store, { type: 'compact', revision: 3 });
    const compacted = store.history({ type: 'history', key: bytes('k'), revision: 2 });
    assert.ok(!compacted.ok && compacted.error.code === 'COMPACTED');
    assert.match(compacted.error.message, /revision 2 has been compacted; the oldest readable revision is 3/);
    const future = store.history({ type: 'history', key: bytes('k'), revision: 9 });
    assert.ok(!future.ok && future.error.code === 'FUTURE_REV');
    const empty = store.history({ type: 'history', key: new Uint8Array(0) });
    assert.ok(!empty.ok && empty.error.code === 'KEY_EMPTY');
    const order = store.history({ type: 'history', key: bytes('k'), order: 'sideways' as 'ascend' });
    assert.ok(!order.ok && order.error.code === 'INVALID_ARGUMENT');
    const limit = store.history({ type: 'history', key: bytes('k'), limit: -1 });
    assert.ok(!limit.ok && limit.error.code === 'INVALID_ARGUMENT');
  });
});

test('history agrees with a log of every write, for random writes, compactions and pages', async () => {
  const keys = ['a', 'a\0', 'ab', 'b'];
  const write = fc.oneof(
    fc.record({ op: fc.constant('put' as const), key: fc.constantFrom(...keys), value: fc.string({ maxLength: 3 }) }),
    fc.record({ op: fc.constant('del' as const), key: fc.constantFrom(...keys) }),
    fc.record({ op: fc.constant('compact' as const), back: fc.nat(4) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(write, { maxLength: 30 }), fc.constantFrom(...keys), fc.nat(4), fc.boolean(), async (writes, key, limit, ascend) => {
      await withTempStore(
        (store) => {
          // The model: every change as (key, revision, version or delete), and the compacted revision.
          const log: { key: string; revision: number; shown: string }[] = [];
          const life = new Map<string, { create: number; version: number }>();
          let compacted = 0;
          for (const w of writes) {
            if (w.op === 'compact') {
              const target = store.currentRevision() - w.back;
              if (target > compacted && target >= 1) {
                apply(store, { type: 'compact', revision: target });
                compacted = target;
              }
              continue;
            }
            if (w.op === 'del' && !life.has(w.key)) continue; // deletes nothing: no revision
            apply(store, w.op === 'put' ? put(w.key, w.value) : del(w.key));
            const revision = store.currentRevision();
            if (w.op === 'put') {
              const was = life.get(w.key);
              const now = { create: was?.create ?? revision, version: (was?.version ?? 0) + 1 };
              life.set(w.key, now);
              log.push({ key: w.key, revision, shown: `${w.value}@${revision}/c${now.create}/v${now.version}` });
            } else {
              life.delete(w.key);
              log.push({ key: w.key, revision, shown: `del@${revision}` });
            }
          }
          const ofKey = log.filter((e) => e.key === key);
          const floor = ofKey.filter((e) => e.revision <= compacted).at(-1);
          const kept = [...(floor && !floor.shown.startsWith('del@') ? [floor] : []), ...ofKey.filter((e) => e.revision > compacted)];
          const ordered = (ascend ? kept : [...kept].reverse()).map((e) => e.shown);
          const page = history(store, { key: bytes(key), limit, order: ascend ? 'ascend' : 'descend' });
          assert.deepEqual(show(page.versions), limit > 0 ? ordered.slice(0, limit) : ordered);
          assert.equal(page.more, limit > 0 && ordered.length > limit);
        },
        { compactionStepRecordsMax: 2 },
      );
    }),
    { numRuns: 60 },
  );
});
