import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, NULL_VALUE, ValueTable } from './values.js';

test('canonical JSON ignores the order of object keys but not of array items', () => {
  assert.equal(canonicalJson({ b: [1, { d: 2, c: 3 }], a: 'x' }), '{"a":"x","b":[1,{"c":3,"d":2}]}');
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

test('canonical JSON rejects what JSON cannot hold', () => {
  assert.throws(() => canonicalJson(undefined), TypeError);
  assert.throws(() => canonicalJson(() => 1), TypeError);
});

test('the value table gives structurally equal values one id, and null the id NULL_VALUE', () => {
  const values = new ValueTable();
  assert.equal(values.idOf(null), NULL_VALUE);
  const first = values.idOf({ a: 1, b: 2 });
  assert.equal(values.idOf({ b: 2, a: 1 }), first);
  assert.notEqual(values.idOf('1'), values.idOf(1));
  assert.notEqual(values.idOf(1), first);
  assert.deepEqual(values.valueOf(first), { a: 1, b: 2 });
  assert.equal(values.valueOf(NULL_VALUE), null);
  assert.throws(() => values.valueOf(99), RangeError);
});
