import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue } from '../types.js';
import { bytes, text, withTempStore } from '../testing/temp-store.js';
import { Prng } from '../../lib/prng.js';

const ALL = new Uint8Array([0]);

test('ranges over keys with long histories (the seek path) find each key as it was at every revision', async () => {
  await withTempStore((store) => {
    const random = new Prng(42);
    // What each key held after each revision, built alongside.
    const states: Map<string, string>[] = [new Map(), new Map()];
    let index = 0;
    for (let i = 0; i < 300; i++) {
      const key = `key${random.int(5)}`;
      const next = new Map(states[states.length - 1]);
      if (random.chance(0.15)) {
        const outcome = store.apply(++index, { body: { type: 'deleteRange', key: bytes(key) } });
        assert.ok(outcome.status === 'applied' && outcome.result.ok);
        if (!next.has(key)) continue; // deleted nothing: no new revision
        next.delete(key);
      } else {
        store.apply(++index, { body: { type: 'put', key: bytes(key), value: bytes(`${i}`) } });
        next.set(key, `${i}`);
      }
      states.push(next);
    }
    assert.equal(store.currentRevision(), states.length - 1);
    const asMap = (kvs: readonly KeyValue[]): Map<string, string> => new Map(kvs.map((kv) => [text(kv.key), text(kv.value)]));
    for (let revision = 1; revision <= store.currentRevision(); revision++) {
      const all = store.range({ type: 'range', key: ALL, rangeEnd: ALL, revision });
      assert.ok(all.ok);
      assert.deepEqual(asMap(all.value.kvs), states[revision], `revision ${revision}`);
      const some = store.range({ type: 'range', key: bytes('key1'), rangeEnd: bytes('key4'), revision, limit: 2 });
      assert.ok(some.ok);
      const expected = [...(states[revision] ?? new Map()).keys()].filter((k) => k >= 'key1' && k < 'key4').sort();
      assert.deepEqual(
        some.value.kvs.map((kv) => text(kv.key)),
        expected.slice(0, 2),
      );
      assert.equal(some.value.count, expected.length);
    }
  });
});
