import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveSortOrder, finishRange, needsAllKeys, needsValues } from './range-query.js';
import type { KeyValue, RangeRequest } from '../types.js';

const kv = (key: string, version: number, value: string): KeyValue => ({
  key: new TextEncoder().encode(key),
  createRevision: version,
  modRevision: 10 + version,
  version,
  value: new TextEncoder().encode(value),
  lease: 0,
});
const req = (extra: Partial<RangeRequest> = {}): RangeRequest => ({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), ...extra });
const keys = (kvs: readonly KeyValue[]): string[] => kvs.map((k) => new TextDecoder().decode(k.key));

test("etcd's sort defaults: a non-key target sorts ascending; ascending by key is the natural order", () => {
  assert.equal(effectiveSortOrder(req()), 'none');
  assert.equal(effectiveSortOrder(req({ sortOrder: 'ascend' })), 'none');
  assert.equal(effectiveSortOrder(req({ sortOrder: 'descend' })), 'descend');
  assert.equal(effectiveSortOrder(req({ sortTarget: 'mod' })), 'ascend');
  assert.equal(effectiveSortOrder(req({ sortTarget: 'mod', sortOrder: 'descend' })), 'descend');
});

test('what must be read: every key only to sort or filter; values unless keys or counts only', () => {
  assert.equal(needsAllKeys(req({ limit: 2 })), false);
  assert.equal(needsAllKeys(req({ limit: 2, minModRevision: 3 })), true);
  assert.equal(needsAllKeys(req({ sortOrder: 'descend' })), true);
  assert.equal(needsValues(req({ keysOnly: true })), false);
  assert.equal(needsValues(req({ keysOnly: true, sortTarget: 'value' })), true, 'sorting on values needs them, stripped after');
  assert.equal(needsValues(req({ countOnly: true, sortTarget: 'value' })), false);
});

test('finishRange: filters do not change count; ties keep key order in both directions; limit sets more', () => {
  const all = [kv('a', 2, 'z'), kv('b', 1, 'y'), kv('c', 2, 'x'), kv('d', 1, 'w')];
  const byVersion = finishRange(all, 4, req({ sortTarget: 'version' }));
  assert.deepEqual(keys(byVersion.kvs), ['b', 'd', 'a', 'c']);
  const byVersionDesc = finishRange(all, 4, req({ sortTarget: 'version', sortOrder: 'descend', limit: 3 }));
  assert.deepEqual([keys(byVersionDesc.kvs), byVersionDesc.more, byVersionDesc.count], [['a', 'c', 'b'], true, 4]);
  const filtered = finishRange(all, 4, req({ minCreateRevision: 2, keysOnly: true }));
  assert.deepEqual([keys(filtered.kvs), filtered.count, filtered.kvs.every((k) => k.value.length === 0)], [['a', 'c'], 4, true]);
  assert.deepEqual(finishRange(all, 4, req({ countOnly: true })), { type: 'range', kvs: [], count: 4, more: false });
  assert.deepEqual(keys(finishRange(all, 4, req({ sortTarget: 'value', keysOnly: true })).kvs), ['d', 'c', 'b', 'a']);
});
