import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairOperations } from './history.js';
import { events } from './history-notation.test-support.js';
import { describeOperation } from './operation-text.js';

test('describes operations in call notation with their results', () => {
  const operations = pairOperations(
    events(`
      1 invoke read x null
      1 ok read x {"a":[1]}
      1 invoke write x "v"
      1 ok write x "v"
      1 invoke cas x [1,2]
      1 fail cas x [1,2]
      1 invoke put k 3
      1 info put k 3
      1 invoke get k null
      1 ok get k null
      1 invoke delete k null
    `),
  );
  assert.deepEqual(operations.map(describeOperation), ['read() → {"a":[1]}', 'write("v")', 'cas(1, 2) → fail', 'put(3) → ?', 'get() → null', 'delete() → ?']);
});
