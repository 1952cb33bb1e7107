import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBatches } from './in-batches.js';

test('inBatches: full arrays of the size, a shorter last one, none for nothing', () => {
  assert.deepEqual([...inBatches([1, 2, 3, 4, 5], 2)], [[1, 2], [3, 4], [5]]);
  assert.deepEqual(
    [...inBatches([1, 2, 3, 4], 2)],
    [
      [1, 2],
      [3, 4],
    ],
  );
  assert.deepEqual([...inBatches([], 3)], []);
});

test('inBatches: reads the source only as far as the batches taken', () => {
  let read = 0;
  function* source(): Generator<number> {
    for (let i = 0; i < 100; i++) {
      read++;
      yield i;
    }
  }
  const batches = inBatches(source(), 10);
  batches.next();
  assert.equal(read, 10);
});
