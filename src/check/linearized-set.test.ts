import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinearizedSet } from './linearized-set.js';

test('known operations go to the first part and unknown ones to the second', () => {
  const set = new LinearizedSet(3, 2);
  set.add(1);
  set.add(4);
  assert.equal(set.known.has(1), true);
  assert.equal(set.unknown.has(1), true, 'operation 4 is the second unknown one');
  assert.equal(set.unknown.has(0), false);
  set.remove(4);
  assert.equal(set.unknown.has(1), false);
  assert.equal(set.unknown.snapshotLength(), 2, 'an empty part keeps only its bounds');
});
