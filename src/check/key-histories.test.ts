import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairOperations } from './history.js';
import { events } from './history-notation.test-support.js';
import { splitByKey } from './key-histories.js';
import { keyValueModel, registerModel } from './models.js';

test('splits by key in order of first appearance, with each key its model', () => {
  const keys = splitByKey(
    pairOperations(
      events(`
        1 invoke put b 1
        2 invoke write a 2
        1 ok put b 1
        2 ok write a 2
      `),
    ),
  );
  assert.deepEqual(
    keys.map((key) => key.key),
    ['b', 'a'],
  );
  assert.equal(keys[0]?.model, keyValueModel);
  assert.equal(keys[1]?.model, registerModel);
});

test('leaves out failed operations and reads with an unknown outcome, and puts known outcomes first', () => {
  const [key] = splitByKey(
    pairOperations(
      events(`
        1 invoke write x 1
        2 invoke write x 2
        3 invoke read x null
        4 invoke read x null
        5 invoke write x 1
        1 info write x 1
        2 fail write x 2
        3 info read x null
        4 ok read x 1
      `),
    ),
  );
  assert.ok(key);
  assert.deepEqual(
    key.operations.map((operation) => operation.process),
    [4, 1, 5],
  );
  assert.equal(key.knownCount, 1);
  assert.deepEqual(
    key.calls.map((call) => call.known),
    [true, false, false],
  );
});

test('calls carry interned values: equal JSON values get one id', () => {
  const [key] = splitByKey(
    pairOperations(
      events(`
        1 invoke write x {"a":1,"b":2}
        1 ok write x {"a":1,"b":2}
        2 invoke cas x [{"b":2,"a":1},null]
        2 ok cas x [{"b":2,"a":1},null]
        3 invoke read x null
        3 ok read x {"b":2,"a":1}
      `),
    ),
  );
  assert.ok(key);
  const [write, cas, read] = key.calls;
  assert.equal(cas?.argument, write?.argument);
  assert.equal(read?.observed, write?.argument);
  assert.equal(cas?.replacement, 0);
  assert.deepEqual(key.values.valueOf(write?.argument ?? -1), { a: 1, b: 2 });
});

test('leaves out writes with an unknown outcome whose value nothing looks for', () => {
  const [key] = splitByKey(
    pairOperations(
      events(`
        1 invoke write x 1
        2 invoke write x 2
        3 invoke cas x [3,4]
        4 invoke cas x [2,5]
        1 info write x 1
        2 info write x 2
        3 info cas x [3,4]
        4 info cas x [2,5]
        5 invoke read x null
        5 ok read x 1
      `),
    ),
  );
  assert.deepEqual(
    key?.operations.map((operation) => operation.process),
    [5, 1, 2],
  );
});

test('a key whose operations all failed is kept, with nothing to place', () => {
  const keys = splitByKey(pairOperations(events('1 invoke write x 1\n1 fail write x 1')));
  assert.equal(keys.length, 1);
  assert.equal(keys[0]?.operations.length, 0);
});
